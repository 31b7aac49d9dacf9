"""Routing after outages: soon after the broker is back, exactly once, and no false alarm.

A real worker and beat (`celery -A tests.faults.worker_app`) on a private
`redis-server`; the merchant files through the web form in this process. Long windows
are shortened through the same settings production reads (ROUTING_SWEEP_SECONDS, ...).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from django.test import Client

from tests.factories import DeviceFactory
from tests.faults.services import CeleryProcess, PrivateRedis, start_together
from tests.integration.conftest import publishing_to
from tests.waiting import wait_until
from tickets.models import Ticket, TicketEvent
from tickets.tasks import sweep_unrouted
from tickets.tests.filing_helpers import filing_data

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The outage's windows, shortened through the settings production reads. Production: a
# worker and beat try the broker again every 5 s at most, beat sweeps every 10 s, and a
# ticket is swept 10 s after filing.
RECONNECT_SECONDS = 1
SWEEP_SECONDS = 2
GRACE_SECONDS = 2
OUTAGE_WINDOWS = {
    "BROKER_RECONNECT_SECONDS": str(RECONNECT_SECONDS),
    "ROUTING_SWEEP_SECONDS": str(SWEEP_SECONDS),
    "ROUTING_GRACE_SECONDS": str(GRACE_SECONDS),
}
# Issue 11 asks for routing within 30 s of the broker's return: with the production
# windows, a reconnection (5 s), the grace (10 s) and a sweep (10 s), 25 s, and 5 s to
# route. Here the same windows take 5 s, and routing 50 tickets on a loaded 2-core
# machine gets 15 s: 20 s.
ROUTED_WITHIN = RECONNECT_SECONDS + GRACE_SECONDS + SWEEP_SECONDS + 15


@pytest.fixture(autouse=True)
def _fresh_outage_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from portal import broker

    monkeypatch.setattr(broker, "outage", broker.Outage())


@pytest.fixture
def merchant(world, settings):  # noqa: ANN001, ANN201
    """Alice, logged in, free to file many tickets: the rate limit is another test's."""
    settings.RATE_LIMIT_FILING = None
    client = Client()
    client.force_login(world.alice)
    return client


def file_tickets(client: Client, world, count: int, label: str) -> list[int]:  # noqa: ANN001
    """One ticket per terminal: one open ticket per terminal and symptom is allowed."""
    ids = []
    for n in range(count):
        device = DeviceFactory(
            merchant=world.merchant_a, provider=world.provider_x, acquirer=world.provider_x
        )
        response = client.post(
            "/tickets/new/", filing_data(device, description=f"{label} fault {n}")
        )
        # The merchant lands on the ticket, never on an error page, broker or not.
        assert response.status_code == 302, response.content[:500]
        ids.append(Ticket.objects.latest("id").pk)
    return ids


def all_routed(ids: list[int]) -> bool:
    return Ticket.objects.filter(pk__in=ids, status=Ticket.Status.QUEUED).count() == len(ids)


def queue_drained(url: str) -> bool:
    return redis.Redis.from_url(url).llen("celery") == 0


def assert_routed_exactly_once_without_alarm(ids: list[int]) -> None:
    tickets = Ticket.objects.filter(pk__in=ids)
    assert tickets.count() == len(ids)
    for ticket in tickets:
        assert ticket.routing_failed is False, ticket
        assert ticket.needs_admin is False, ticket
        assert ticket.queue_id is not None, ticket
        assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1, ticket
        # One run of the task routed it; any other delivery found it routed.
        assert ticket.route_attempts == 1, (ticket, ticket.route_attempts)
    # The event that e-mails "A ticket needs an admin" (tickets.notifications).
    assert not TicketEvent.objects.filter(
        ticket__in=ids, kind=TicketEvent.Kind.ROUTING_FAILED
    ).exists()


def errors_in(log: str) -> list[str]:
    return [line for line in log.splitlines() if "ERROR/" in line or "Traceback" in line]


def warnings_in(log: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING/" in line]


def test_fifty_tickets_filed_while_the_broker_is_down_are_routed_within_30_s_of_its_return(
    world,  # noqa: ANN001
    merchant: Client,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Sweep every 2 s, grace 2 s, reconnect every second at most (OUTAGE_WINDOWS).
    worker, beat = start_together(
        celery_process, ("worker", "beat"), broker_url=private_redis.url, env=OUTAGE_WINDOWS
    )
    with publishing_to(private_redis.url):
        before = file_tickets(merchant, world, 2, "before")
        assert wait_until(lambda: all_routed(before), timeout=30), worker.log()[-3000:]

        private_redis.stop()
        down = time.monotonic()
        caplog.clear()
        caplog.set_level(logging.INFO)
        during = file_tickets(merchant, world, 50, "during")
        filed = time.monotonic()
        assert Ticket.objects.filter(pk__in=during, status=Ticket.Status.NEW).count() == 50
        web_log = list(caplog.records)
        # Long enough for beat to fail a tick (it says so), the worker to retry a few
        # times, and the last ticket to be past the grace period (the worker's sweep on
        # reconnecting queues them all, as after a long outage).
        assert wait_until(lambda: "WARNING/" in beat.log(), timeout=30), beat.log()[-3000:]
        time.sleep(
            max(
                0.0,
                down + 3 * RECONNECT_SECONDS - time.monotonic(),
                filed + GRACE_SECONDS + 1 - time.monotonic(),
            )
        )

        private_redis.start()
        back = time.monotonic()
        routed = wait_until(lambda: all_routed(during), timeout=ROUTED_WITHIN, interval=0.5)
        took = time.monotonic() - back
        assert routed, f"not all routed {took:.0f} s after the broker came back"
        assert wait_until(lambda: queue_drained(private_redis.url), timeout=30)
        # The web's next filing tells it that the broker is back.
        after = file_tickets(merchant, world, 1, "after")
        assert wait_until(lambda: all_routed(after), timeout=30)
    print(f"50 tickets routed {took:.1f} s after the broker came back")  # noqa: T201
    assert_routed_exactly_once_without_alarm(before + during + after)
    # The web said it once, without a traceback, not at each of the 50 filings ...
    warnings = [r for r in web_log if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["portal.broker"], [r.getMessage() for r in warnings]
    assert not [r for r in web_log if r.levelno >= logging.ERROR or r.exc_info]
    # ... and once that it is over.
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    # Worker and beat: one warning each for the outage, no error at every retry or tick.
    assert errors_in(worker.log()) == [], worker.log()[-4000:]
    assert errors_in(beat.log()) == [], beat.log()[-4000:]
    assert len(warnings_in(worker.log())) == 1, worker.log()[-4000:]  # "Connection ... lost"
    assert len(warnings_in(beat.log())) == 1, beat.log()[-4000:]
    assert "reachable again" in worker.log()
    assert "reachable again" in beat.log()


def test_an_hour_without_a_worker_while_beat_sweeps_raises_no_false_alarm(
    world,  # noqa: ANN001
    merchant: Client,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    """The worker is away for an hour; beat goes on queueing a sweep every 10 s.

    An hour of that is 360 sweeps waiting in the queue, ahead of the routing tasks of
    tickets filed meanwhile; the test sends them itself, in a few seconds, while a real
    beat keeps sweeping every second. When a worker is back it runs them all (the old
    code counted each as a routing attempt and flagged every ticket after five).
    """
    fast = {"ROUTING_SWEEP_SECONDS": "1", "ROUTING_GRACE_SECONDS": "1"}
    with ThreadPoolExecutor(max_workers=1) as pool:
        # Beat starts meanwhile (and no worker); it is sweeping before the worker starts.
        beat = pool.submit(celery_process, "beat", broker_url=private_redis.url, env=fast)
        with publishing_to(private_redis.url):
            for _ in range(3600 // 10):
                sweep_unrouted.apply_async()
            ids = file_tickets(merchant, world, 10, "no worker")
            filed = time.monotonic()
            for _ in range(3600 // 10):
                sweep_unrouted.apply_async()
        beat.result()
    # Older than the grace period (1 s, and a second more): every sweep sees them waiting.
    time.sleep(max(0.0, filed + 2 - time.monotonic()))
    assert Ticket.objects.filter(pk__in=ids, status=Ticket.Status.NEW).count() == 10

    # The worker keeps its database connection between tasks, as in production
    # (DB_CONN_MAX_AGE 60), instead of connecting again for each of the 720 sweeps.
    worker = celery_process(
        "worker", broker_url=private_redis.url, env={**fast, "DB_CONN_MAX_AGE": "60"}
    )
    assert wait_until(lambda: all_routed(ids), timeout=60), worker.log()[-4000:]
    assert wait_until(lambda: queue_drained(private_redis.url), timeout=60), worker.log()[-4000:]
    assert_routed_exactly_once_without_alarm(ids)


def test_a_ticket_flagged_after_failed_runs_is_cleared_once_it_is_routed(
    world,  # noqa: ANN001
    merchant: Client,
    tmp_path: Path,
    private_redis: PrivateRedis,
    celery_process: Callable[..., CeleryProcess],
) -> None:
    """Routing really fails (the database refuses) until the admins have been told,
    after three failed runs. Then the database is back: a retry of the task routes it,
    and the flag goes, with an event that says so."""
    fast = {
        "ROUTING_SWEEP_SECONDS": "1",
        "ROUTING_GRACE_SECONDS": "1",
        "ROUTING_REQUEUE_SECONDS": "1",
        "ROUTING_MAX_ATTEMPTS": "3",
    }
    database_back = tmp_path / "database-back"
    with ThreadPoolExecutor(max_workers=1) as pool:
        beat = pool.submit(celery_process, "beat", broker_url=private_redis.url, env=fast)
        worker = celery_process(
            "worker",
            broker_url=private_redis.url,
            env={**fast, "POSDESK_TEST_ROUTE_FAIL_UNTIL": str(database_back)},
        )
        beat.result()
    with publishing_to(private_redis.url):
        [ticket_id] = file_tickets(merchant, world, 1, "unlucky")
    flagged = TicketEvent.objects.filter(ticket_id=ticket_id, kind=TicketEvent.Kind.ROUTING_FAILED)
    assert wait_until(flagged.exists, timeout=120), worker.log()[-4000:]
    assert Ticket.objects.get(pk=ticket_id).status == Ticket.Status.NEW
    database_back.touch()
    assert wait_until(lambda: all_routed([ticket_id]), timeout=120), worker.log()[-4000:]

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.routing_failed is False
    assert ticket.needs_admin is False
    assert ticket.route_attempts >= 4  # failed runs, then the one that routed
    kinds = list(ticket.events.exclude(kind=TicketEvent.Kind.FILED).values_list("kind", flat=True))
    assert kinds == ["routing_failed", "routed", "routing_recovered"]
    failed = ticket.events.get(kind=TicketEvent.Kind.ROUTING_FAILED)
    assert failed.data == {"attempts": 3, "error": "OperationalError"}
    recovered = ticket.events.get(kind=TicketEvent.Kind.ROUTING_RECOVERED)
    assert recovered.public is False
    assert recovered.data == {"attempts": ticket.route_attempts}
