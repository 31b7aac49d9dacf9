"""sweep_unrouted: tickets left `new` are queued again, once per window, counting nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.tasks import sweep_unrouted

pytestmark = pytest.mark.django_db


def _stale(world, minutes: float = 5, **fields) -> Ticket:  # noqa: ANN001, ANN003
    return TicketFactory(
        device=world.device_a, created_at=timezone.now() - timedelta(minutes=minutes), **fields
    )


def test_a_stale_new_ticket_is_routed_by_the_sweeper(world) -> None:  # noqa: ANN001
    ticket = _stale(world)
    result = sweep_unrouted()
    assert result == {"requeued": 1}
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1
    assert ticket.route_attempts == 1  # the run, not the sweep


def test_tickets_inside_the_grace_period_are_left_alone(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_GRACE_SECONDS = 600
    _stale(world)
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        services.sweep_unrouted()
    enqueue.assert_not_called()


def test_routed_cancelled_and_flagged_tickets_are_not_swept(world) -> None:  # noqa: ANN001
    _stale(world, status=Ticket.Status.QUEUED)
    _stale(world, status=Ticket.Status.CANCELLED)
    _stale(world, routing_failed=True, needs_admin=True)  # an admin was told
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        services.sweep_unrouted()
    enqueue.assert_not_called()


def test_sweeps_count_no_attempt(world, settings) -> None:  # noqa: ANN001
    """Sweeps queued while no worker runs are no routing failures (the old false alarm)."""
    settings.ROUTING_REQUEUE_SECONDS = 1
    ticket = _stale(world)
    later = timezone.now()
    with mock.patch("tickets.services.enqueue_routing", return_value=True) as enqueue:
        for n in range(settings.ROUTING_MAX_ATTEMPTS * 3):
            services.sweep_unrouted(now=later + timedelta(seconds=2 * n))
    assert enqueue.call_count == settings.ROUTING_MAX_ATTEMPTS * 3
    ticket.refresh_from_db()
    assert ticket.route_attempts == 0
    assert ticket.routing_failed is False
    assert ticket.needs_admin is False
    assert not ticket.events.filter(kind=TicketEvent.Kind.ROUTING_FAILED).exists()


def test_a_queued_ticket_is_queued_again_only_after_the_requeue_window(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_REQUEUE_SECONDS = 300
    ticket = _stale(world)
    now = timezone.now()
    with mock.patch("tickets.services.enqueue_routing", return_value=True) as enqueue:
        assert services.sweep_unrouted(now=now) == {"requeued": 1}
        assert services.sweep_unrouted(now=now + timedelta(seconds=299)) == {"requeued": 0}
        assert services.sweep_unrouted(now=now + timedelta(seconds=301)) == {"requeued": 1}
    assert enqueue.call_count == 2
    ticket.refresh_from_db()
    assert ticket.route_requeued_at == now + timedelta(seconds=301)


def test_a_worker_back_from_an_outage_queues_again_what_may_have_been_lost(world) -> None:  # noqa: ANN001
    ticket = _stale(world)
    now = timezone.now()
    with mock.patch("tickets.services.enqueue_routing", return_value=True) as enqueue:
        services.sweep_unrouted(now=now)
        # Within the requeue window, but the message may have gone with the broker.
        after = now + timedelta(seconds=60)
        assert services.sweep_unrouted(now=after, after_outage=True) == {"requeued": 1}
        # Two workers reconnecting together queue it once.
        assert services.sweep_unrouted(now=after, after_outage=True) == {"requeued": 0}
    assert [c.args for c in enqueue.call_args_list] == [(ticket.pk,), (ticket.pk,)]


def test_a_broker_still_down_leaves_the_ticket_for_the_next_sweep(world) -> None:  # noqa: ANN001
    first, second = _stale(world, minutes=6), _stale(world)
    with mock.patch("tickets.services.enqueue_routing", return_value=False) as enqueue:
        assert services.sweep_unrouted() == {"requeued": 0}
    enqueue.assert_called_once_with(first.pk)  # it stops at the first failure
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.route_requeued_at is None
        assert ticket.route_attempts == 0
    with mock.patch("tickets.services.enqueue_routing", return_value=True) as enqueue:
        assert services.sweep_unrouted() == {"requeued": 2}


def test_a_sweep_takes_every_due_ticket_in_batches(world, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    tickets = [_stale(world, minutes=10 - n) for n in range(5)]
    with mock.patch("tickets.services.enqueue_routing", return_value=True) as enqueue:
        assert services.sweep_unrouted() == {"requeued": 5}
    assert [c.args[0] for c in enqueue.call_args_list] == [t.pk for t in tickets]


def test_the_defaults(settings) -> None:  # noqa: ANN001
    from django.conf import settings as conf

    assert conf.ROUTING_GRACE_SECONDS == 10
    assert conf.ROUTING_SWEEP_SECONDS == 10
    assert conf.ROUTING_REQUEUE_SECONDS == 300
    assert conf.ROUTING_MAX_ATTEMPTS == 5
    assert conf.BROKER_RECONNECT_SECONDS == 5
    entry = conf.CELERY_BEAT_SCHEDULE["sweep-unrouted-tickets"]
    assert entry["task"] == "tickets.tasks.sweep_unrouted"
    assert entry["schedule"] == timedelta(seconds=10)
    assert entry["options"]["expires"] == 60


def test_a_worker_that_connects_queues_a_sweep_after_the_outage() -> None:
    from portal.broker import worker_connected

    with mock.patch("tickets.tasks.broker.publish") as publish:
        worker_connected.send(sender=None)
    publish.assert_called_once_with(sweep_unrouted, after_outage=True)


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_never_queue_the_same_ticket(world) -> None:  # noqa: ANN001
    """The first holds its batch's rows (and stamps them); the second skips them."""
    ticket = _stale(world)
    holding, release = threading.Event(), threading.Event()
    queued: list[int] = []

    def record(ticket_id: int) -> bool:
        queued.append(ticket_id)
        return True

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    other = threading.Thread(target=hold_the_row)
    other.start()
    assert holding.wait(10)
    try:
        with mock.patch("tickets.services.enqueue_routing", record):
            assert services.sweep_unrouted() == {"requeued": 0}  # locked: skipped, not waited on
    finally:
        release.set()
        other.join(10)
    with mock.patch("tickets.services.enqueue_routing", record):
        assert services.sweep_unrouted() == {"requeued": 1}
        assert services.sweep_unrouted() == {"requeued": 0}  # stamped: not again
    assert queued == [ticket.pk]


def test_the_failed_ticket_is_shown_to_admins(world, as_user, settings) -> None:  # noqa: ANN001
    from django.urls import reverse

    ticket = _stale(world, routing_failed=True, needs_admin=True)
    response = as_user(world.admin).get(
        reverse("admin:tickets_ticket_changelist"), {"routing_failed__exact": "1"}
    )
    assert ticket.reference in response.text
