"""The project's Celery app, plus a fault hook for the worker a test will kill.

With POSDESK_TEST_ROUTE_DELAY set, routing stops for that many seconds right after
it has written the ticket's `routed` event, inside its still open transaction. It
first writes "<ticket id> <pid>" to the file POSDESK_TEST_ROUTE_MARKER, so the test
knows which process is in the middle of the task. It holds only once per marker
file: a redelivered task runs straight through.

With POSDESK_TEST_ROUTE_FAIL_UNTIL=<file>, routing in this worker fails with a database
error (a lock timeout, say) right after writing the `routed` event, for as long as that
file does not exist: the test creates it when the database is to be back.

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
def _fail_routing_until_released(**kwargs: object) -> None:
    path = os.environ.get("POSDESK_TEST_ROUTE_FAIL_UNTIL", "")
    if not path:
        return
    import django

    django.setup()
    from django.db import OperationalError
    from django.db.models.signals import post_save

    from tickets.models import TicketEvent

    released = Path(path)

    def fail(sender: type, instance: TicketEvent, created: bool, **kw: object) -> None:
        if created and instance.kind == TicketEvent.Kind.ROUTED and not released.exists():
            raise OperationalError("canceling statement due to lock timeout")

    post_save.connect(fail, sender=TicketEvent, weak=False, dispatch_uid="faults_fail_routing")
