"""tickets.routing.route: an attempt is a run that tried, and a routed ticket is no alarm."""

from __future__ import annotations

from unittest import mock

import pytest

from tests.factories import TicketFactory
from tickets import routing
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _failing_run(ticket: Ticket, error: Exception | None = None) -> None:
    with (
        mock.patch("tickets.routing.decide", side_effect=error or RuntimeError("rule broken")),
        pytest.raises(type(error or RuntimeError())),
    ):
        routing.route(ticket.pk)


def test_a_run_that_routes_counts_one_attempt(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.route_attempts == 1


def test_a_second_delivery_of_a_routed_ticket_counts_nothing(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_a_run_that_raises_is_counted_and_raised_again(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a)
    _failing_run(ticket)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 1
    assert ticket.status == Ticket.Status.NEW
    assert ticket.routing_failed is False
    assert not ticket.events.exists()


def test_a_run_that_fails_after_writing_is_rolled_back_but_counted(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a)
    real_record = routing.events.record

    def fail_after_the_routed_event(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        real_record(*args, **kwargs)
        raise RuntimeError("the mail outbox refused it")

    with (
        mock.patch("tickets.routing.events.record", side_effect=fail_after_the_routed_event),
        pytest.raises(RuntimeError),
    ):
        routing.route(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 1
    assert ticket.status == Ticket.Status.NEW
    assert ticket.queue is None
    assert not ticket.events.filter(kind=TicketEvent.Kind.ROUTED).exists()


def test_after_max_failed_runs_the_ticket_is_flagged_once(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_MAX_ATTEMPTS = 3
    ticket = TicketFactory(device=world.device_a)
    for _ in range(2):
        _failing_run(ticket)
    ticket.refresh_from_db()
    assert ticket.routing_failed is False
    _failing_run(ticket)
    _failing_run(ticket)
    ticket.refresh_from_db()
    assert ticket.route_attempts == 4
    assert ticket.routing_failed is True
    assert ticket.needs_admin is True
    [event] = ticket.events.filter(kind=TicketEvent.Kind.ROUTING_FAILED)
    assert event.public is False
    assert event.data == {"attempts": 3, "error": "RuntimeError"}


def test_routing_a_flagged_ticket_clears_the_flag_with_an_internal_event(world, settings) -> None:  # noqa: ANN001
    settings.ROUTING_MAX_ATTEMPTS = 1
    ticket = TicketFactory(device=world.device_a)
    _failing_run(ticket)
    ticket.refresh_from_db()
    assert ticket.routing_failed
    assert ticket.needs_admin

    routing.route(ticket.pk)  # a later delivery, or a retry, works

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.routing_failed is False
    assert ticket.needs_admin is False  # set by the failures only
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == ["routing_failed", "routed", "routing_recovered"]
    recovered = ticket.events.get(kind=TicketEvent.Kind.ROUTING_RECOVERED)
    assert recovered.public is False
    assert recovered.data == {"attempts": 2}
    assert recovered.provider_id == world.provider_x.pk  # its technicians may read it


def test_a_flagged_ticket_routed_to_platform_triage_still_needs_an_admin(world) -> None:  # noqa: ANN001
    from tickets.models import RoutingRule

    RoutingRule.objects.update(active=False)  # no rule fits: the platform triage queue
    ticket = TicketFactory(device=world.device_a, routing_failed=True, needs_admin=True)
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.routing_failed is False
    assert ticket.needs_admin is True
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTING_RECOVERED).exists()


def test_an_admins_reroute_of_a_flagged_ticket_says_the_flag_is_cleared(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a, routing_failed=True, needs_admin=True)
    routing.reroute(ticket.pk, world.admin)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.routing_failed is False
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTING_RECOVERED).count() == 1


def test_a_ticket_routed_without_trouble_gets_no_recovery_event(world) -> None:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    assert not ticket.events.filter(kind=TicketEvent.Kind.ROUTING_RECOVERED).exists()
