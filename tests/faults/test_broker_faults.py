"""Redis and Celery failing under real load: nothing lost, nothing routed twice.

The worker (and beat) are real `celery` processes on a private `redis-server`; the
merchant files through the web form in this process, publishing to that Redis.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from tests.faults.services import CeleryProcess, PrivateRedis
from tests.integration.conftest import publishing_to
from tests.waiting import wait_until
from tickets.models import Ticket, TicketEvent
from tickets.tests.filing_helpers import filing_data

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ROUTED_WITHIN = 60  # seconds, as the issue asks once Redis is back


def file_tickets(client: Client, device, count: int, label: str) -> list[int]:  # noqa: ANN001
    ids = []
    for n in range(count):
        response = client.post(
            # Each its own ticket, though one is open on the terminal for the same fault.
            "/tickets/new/",
            filing_data(device, description=f"{label} fault {n}", action="file_anyway"),
        )
        # The merchant lands on the ticket, never on an error page, broker or not.
        assert response.status_code == 302, response.content[:500]
        ids.append(Ticket.objects.latest("id").pk)
    return ids


def routed_once(ids: list[int]) -> bool:
    tickets = Ticket.objects.filter(pk__in=ids, status=Ticket.Status.QUEUED)
    return tickets.count() == len(ids)


def assert_exactly_one_routed_event(ids: list[int]) -> None:
    for ticket in Ticket.objects.filter(pk__in=ids):
        assert ticket.queue_id is not None, ticket
        assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1, ticket


def test_tickets_filed_while_redis_is_down_are_all_routed_once_it_is_back(
    world,  # noqa: ANN001
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    # The sweeper runs every 2 s (beat) and takes tickets older than 1 s (worker).
    sweeping = {"ROUTING_SWEEP_SECONDS": "2", "ROUTING_GRACE_SECONDS": "1"}
    worker = celery_process("worker", broker_url=private_redis.url, env=sweeping)
    celery_process("beat", broker_url=private_redis.url, env=sweeping)
    client = Client()
    client.force_login(world.alice)
    with publishing_to(private_redis.url):
        before = file_tickets(client, world.device_a, 2, "before")
        assert wait_until(lambda: routed_once(before), timeout=30), worker.log()[-3000:]

        private_redis.stop()
        during = file_tickets(client, world.device_a, 3, "during")
        # Every ticket is saved, waiting to be routed.
        assert Ticket.objects.filter(pk__in=during, status=Ticket.Status.NEW).count() == 3
        assert not TicketEvent.objects.filter(ticket__in=during, kind="routed").exists()

        private_redis.start()
        all_ids = before + during
        assert wait_until(lambda: routed_once(all_ids), timeout=ROUTED_WITHIN), worker.log()[-4000:]
    assert_exactly_one_routed_event(all_ids)


@pytest.mark.parametrize("victim", ["whole worker", "pool process"])
def test_a_worker_killed_in_the_middle_of_routing_is_replaced_and_routes_once(
    world,  # noqa: ANN001
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
    tmp_path: Path,
    victim: str,
) -> None:
    """SIGKILL while the `routed` event is written but not committed.

    "whole worker": the worker and its pool die; the task was not acknowledged
    (acks_late), so Redis hands it to the next worker after the visibility timeout.
    "pool process": only the process running the task dies; its worker rejects the
    task back to the queue (reject_on_worker_lost) and a fresh pool process runs it.
    """
    marker = tmp_path / "routing-midway"
    fault_env = {"FAULTS_VISIBILITY_TIMEOUT": "4"}
    # prefork, as in production: the parent process acknowledges, a child runs the task.
    first = celery_process(
        "worker",
        broker_url=private_redis.url,
        pool="prefork",
        env={
            **fault_env,
            "POSDESK_TEST_ROUTE_DELAY": "120",
            "POSDESK_TEST_ROUTE_MARKER": str(marker),
        },
    )
    client = Client()
    client.force_login(world.alice)
    with publishing_to(private_redis.url):
        [ticket_id] = file_tickets(client, world.device_a, 1, "doomed")

    # A pool process has written the `routed` event and holds its transaction open.
    assert wait_until(marker.exists, timeout=30), first.log()[-3000:]
    marked_ticket, busy_pid = (int(part) for part in marker.read_text().split())
    assert marked_ticket == ticket_id
    assert busy_pid != first.pid

    if victim == "whole worker":
        first.kill()
    else:
        os.kill(busy_pid, signal.SIGKILL)  # a process the worker we started forked

    if victim == "whole worker":
        ticket = Ticket.objects.get(pk=ticket_id)
        assert ticket.status == Ticket.Status.NEW  # the half-done routing was rolled back
        assert not ticket.events.filter(kind=TicketEvent.Kind.ROUTED).exists()
        # No sweeper runs here: only Redis giving the unacknowledged task back can route it.
        survivor = celery_process("worker", broker_url=private_redis.url, env=fault_env)
    else:
        survivor = first
    assert wait_until(lambda: routed_once([ticket_id]), timeout=ROUTED_WITHIN), survivor.log()[
        -4000:
    ]
    assert_exactly_one_routed_event([ticket_id])
    assert "tickets.tasks.route_ticket" in survivor.log()
