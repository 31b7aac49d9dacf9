"""sweep_unrouted: tickets left `new` are enqueued again, a bounded number of times."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from tests.factories import TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent
from tickets.tasks import sweep_unrouted

pytestmark = pytest.mark.django_db


def _stale(world, **fields) -> Ticket:  # noqa: ANN001, ANN003
    return TicketFactory(
        device=world.device_a, created_at=timezone.now() - timedelta(minutes=5), **fields
    )


def test_a_stale_new_ticket_is_routed_by_the_sweeper(world) -> None:
    ticket = _stale(world)
    result = sweep_unrouted()
    assert result == {"requeued": 1, "failed": 0}
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_tickets_inside_the_grace_period_are_left_alone(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_GRACE_SECONDS = 600
    ticket = _stale(world)
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        services.sweep_unrouted()
    enqueue.assert_not_called()
    ticket.refresh_from_db()
    assert ticket.route_attempts == 0


def test_routed_and_cancelled_tickets_are_not_swept(world) -> None:
    _stale(world, status=Ticket.Status.QUEUED)
    _stale(world, status=Ticket.Status.CANCELLED)
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        services.sweep_unrouted()
    enqueue.assert_not_called()


def test_each_sweep_counts_an_attempt(world) -> None:
    ticket = _stale(world)
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        services.sweep_unrouted()
        services.sweep_unrouted()
    assert enqueue.call_count == 2
    enqueue.assert_called_with(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 2


def test_after_max_attempts_the_ticket_is_marked_failed_and_left(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_MAX_ATTEMPTS = 3
    ticket = _stale(world)
    with mock.patch("tickets.services.enqueue_routing") as enqueue:
        for _ in range(3):
            services.sweep_unrouted()
        assert enqueue.call_count == 3
        result = services.sweep_unrouted()
        assert result == {"requeued": 0, "failed": 1}
        # Never retried forever: later sweeps skip it.
        services.sweep_unrouted()
        assert enqueue.call_count == 3
    ticket.refresh_from_db()
    assert ticket.routing_failed is True
    assert ticket.needs_admin is True
    assert ticket.status == Ticket.Status.NEW
    event = ticket.events.get(kind=TicketEvent.Kind.ROUTING_FAILED)
    assert event.public is False
    assert event.data == {"attempts": 3}


def test_the_defaults_are_a_minute_and_five_attempts() -> None:
    from django.conf import settings

    assert settings.ROUTING_GRACE_SECONDS == 60
    assert settings.ROUTING_MAX_ATTEMPTS == 5
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-unrouted-tickets"]
    assert entry["task"] == "tickets.tasks.sweep_unrouted"


def test_a_broker_still_down_counts_no_attempt(world) -> None:
    ticket = _stale(world)
    with mock.patch("tickets.services.enqueue_routing", side_effect=OSError("refused")):
        result = services.sweep_unrouted()
    assert result == {"requeued": 0, "failed": 0}
    ticket.refresh_from_db()
    assert ticket.route_attempts == 0


def test_the_failed_ticket_is_shown_to_admins(world, as_user, settings) -> None:  # noqa: ANN001
    settings.ROUTING_MAX_ATTEMPTS = 0
    ticket = _stale(world)
    services.sweep_unrouted()
    from django.urls import reverse

    response = as_user(world.admin).get(
        reverse("admin:tickets_ticket_changelist"), {"routing_failed__exact": "1"}
    )
    assert ticket.reference in response.text
