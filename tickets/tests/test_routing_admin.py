"""The admin: rules and queues editable, tickets re-routed, self-help counted."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import TicketFactory, queued_ticket
from tickets import routing
from tickets.models import (
    Category,
    Queue,
    RoutingRule,
    SelfHelpSuccess,
    Ticket,
    TicketEvent,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name",
    [
        "tickets_queue",
        "tickets_routingrule",
        "tickets_ticket",
        "tickets_selfhelpcheck",
        "tickets_selfhelpsuccess",
        "tickets_attachment",
    ],
)
def test_the_changelists_load(world, as_user, name: str) -> None:
    queued_ticket(world.device_a)
    SelfHelpSuccess.objects.create(
        merchant=world.merchant_a, device=world.device_a, category=Category.NETWORK
    )
    response = as_user(world.admin).get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200


def test_the_ticket_changelist_filters_on_needs_admin_and_search(world, as_user) -> None:
    flagged = queued_ticket(world.device_a, needs_admin=True)
    other = queued_ticket(world.device_b)
    client = as_user(world.admin)
    url = reverse("admin:tickets_ticket_changelist")
    response = client.get(url, {"needs_admin__exact": "1"})
    assert flagged.reference in response.text
    assert other.reference not in response.text
    response = client.get(url, {"q": world.device_b.serial_number})
    assert other.reference in response.text
    assert flagged.reference not in response.text


def test_the_ticket_page_shows_the_timeline_read_only(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    response = as_user(world.admin).get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.routing_note in response.text


def test_rules_are_editable_in_the_list(world, as_user) -> None:
    from django.contrib import admin as django_admin

    model_admin = django_admin.site.get_model_admin(RoutingRule)
    assert set(model_admin.list_editable) == {"order", "active"}


def _reroute(client, tickets: list[Ticket]):  # noqa: ANN001, ANN202
    return client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "reroute_selected", "_selected_action": [t.pk for t in tickets]},
        follow=True,
    )


def test_reroute_moves_a_ticket_after_the_rules_change(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    RoutingRule.objects.filter(category=Category.HARDWARE, warranty="in").update(
        target_kind=Queue.Kind.TRIAGE
    )
    response = _reroute(as_user(world.admin), [ticket])
    assert "1 ticket re-routed." in response.text
    ticket.refresh_from_db()
    assert ticket.queue.kind == Queue.Kind.TRIAGE
    assert ticket.status == Ticket.Status.QUEUED
    event = ticket.events.get(kind=TicketEvent.Kind.TRANSFERRED)
    assert event.actor == world.admin
    assert "Re-routed" in event.text
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_reroute_with_unchanged_rules_writes_an_internal_note(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a)
    routing.route(ticket.pk)
    _reroute(as_user(world.admin), [ticket])
    note = ticket.events.get(kind=TicketEvent.Kind.NOTE)
    assert note.public is False
    assert "still name" in note.text


def test_reroute_routes_a_ticket_that_failed_to_route(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a, routing_failed=True, needs_admin=True)
    _reroute(as_user(world.admin), [ticket])
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.routing_failed is False
    assert ticket.needs_admin is False
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1


def test_reroute_leaves_finished_tickets_alone(world, as_user) -> None:
    closed = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    response = _reroute(as_user(world.admin), [closed])
    assert "left alone" in response.text
    assert not closed.events.exists()


def test_self_help_successes_show_a_count_per_category(world, as_user) -> None:
    for category in (Category.NETWORK, Category.NETWORK, Category.HARDWARE):
        SelfHelpSuccess.objects.create(
            merchant=world.merchant_a, device=world.device_a, category=category
        )
    response = as_user(world.admin).get(reverse("admin:tickets_selfhelpsuccess_changelist"))
    totals = sorted(obj._category_total for obj in response.context["cl"].result_list)
    assert totals == [1, 2, 2]


def test_the_provider_page_lists_its_queues(world, as_user) -> None:
    response = as_user(world.admin).get(
        reverse("admin:devices_provider_change", args=[world.provider_x.pk])
    )
    assert response.status_code == 200
    assert "Provider X warranty repair" in response.text


def test_technicians_cannot_reach_the_admin(world, as_user) -> None:
    response = as_user(world.xavier).get(reverse("admin:tickets_ticket_changelist"))
    assert response.status_code == 302


def test_the_rule_list_says_what_each_rule_matches_and_where_it_sends(world, as_user) -> None:
    text = as_user(world.admin).get(reverse("admin:tickets_routingrule_changelist")).text
    assert "Hardware · In warranty · any provider" in text
    assert "provider: Warranty repair" in text
    assert "acquirer: Transaction support" in text
