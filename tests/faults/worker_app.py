"""The project's Celery app, plus a fault hook for the worker a test will kill.

With POSDESK_TEST_ROUTE_DELAY set, routing stops for that many seconds right after
it has written the ticket's `routed` event, inside its still open transaction. It
first writes "<ticket id> <pid>" to the file POSDESK_TEST_ROUTE_MARKER, so the test
knows which process is in the middle of the task. It holds only once per marker
file: a redelivered task runs straight through.

With POSDESK_TEST_ROUTE_FAIL_SECONDS=n, routing in this worker fails with a database
error (a lock timeout, say) right after writing the `routed` event, for n seconds from
the first attempt; then it works again.

Only processes started with `-A tests.faults.worker_app` load these; the project
itself has no such hooks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery.signals import worker_init

from portal.celery import app

__all__ = ["app"]


@worker_init.connect(weak=False)
def _hold_routing_midway(**kwargs: object) -> None:
    delay = float(os.environ.get("POSDESK_TEST_ROUTE_DELAY", "0") or 0)
    if not delay:
        return
    import django

    django.setup()
    from django.db.models.signals import post_save

    from tickets.models import TicketEvent

    marker = Path(os.environ["POSDESK_TEST_ROUTE_MARKER"])

    def hold(sender: type, instance: TicketEvent, created: bool, **kw: object) -> None:
        if created and instance.kind == TicketEvent.Kind.ROUTED and not marker.exists():
            marker.write_text(f"{instance.ticket_id} {os.getpid()}")
            time.sleep(delay)

    post_save.connect(hold, sender=TicketEvent, weak=False, dispatch_uid="faults_hold_routing")


@worker_init.connect(weak=False)
def _fail_routing_for_a_while(**kwargs: object) -> None:
    seconds = float(os.environ.get("POSDESK_TEST_ROUTE_FAIL_SECONDS", "0") or 0)
    if not seconds:
        return
    import django

    django.setup()
    from django.db import OperationalError
    from django.db.models.signals import post_save

    from tickets.models import TicketEvent

    until: list[float] = []

    def fail(sender: type, instance: TicketEvent, created: bool, **kw: object) -> None:
        if not created or instance.kind != TicketEvent.Kind.ROUTED:
            return
        if not until:
            until.append(time.monotonic() + seconds)
        if time.monotonic() < until[0]:
            raise OperationalError("canceling statement due to lock timeout")

    post_save.connect(fail, sender=TicketEvent, weak=False, dispatch_uid="faults_fail_routing")
