"""The admin cannot go around the workflow: a ticket's state changes only through
actions that write events with their actor."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from conftest import World
from tests.factories import TicketFactory, queued_ticket
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tickets_ticket_changelist")


def test_a_crafted_admin_post_cannot_change_status_queue_or_pairing(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    client = as_user(world.admin)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    for name in ("status", "queue", "assigned_to", "merchant", "device", "billable"):
        assert name not in form.fields
    other_queue = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.PAID_REPAIR)
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "status": Ticket.Status.CLOSED,
            "queue": other_queue.pk,
            "assigned_to": world.yuri.pk,
            "merchant": world.merchant_b.pk,
            "device": world.device_b.pk,
            "billable": "True",
            "resolution_due": "2000-01-01 00:00",
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
            "quotes-TOTAL_FORMS": 0,
            "quotes-INITIAL_FORMS": 0,
        }
    )
    client.post(url, data)
    after = Ticket.objects.get(pk=ticket.pk)
    assert (after.status, after.queue_id, after.merchant_id, after.device_id) == (
        ticket.status,
        ticket.queue_id,
        world.merchant_a.pk,
        world.device_a.pk,
    )
    assert after.assigned_to_id is None
    assert after.billable is False
    assert after.resolution_due == ticket.resolution_due


def test_tickets_cannot_be_added_in_the_admin(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(reverse("admin:tickets_ticket_add"))
    assert response.status_code == 403


def _action(client, action: str, tickets: list[Ticket], **fields: object):  # noqa: ANN001, ANN202
    data = {"action": action, ACTION_CHECKBOX_NAME: [t.pk for t in tickets], **fields}
    return client.post(CHANGELIST, data)


def test_reassign_asks_for_a_technician_then_goes_through_the_workflow(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = queued_ticket(world.device_a)
    client = as_user(world.admin)
    asking = _action(client, "reassign_selected", [ticket])
    assert asking.status_code == 200
    assert ticket.reference in asking.text
    _action(client, "reassign_selected", [ticket], apply="1", assignee=world.xena.pk)
    ticket.refresh_from_db()
    assert ticket.assigned_to == world.xena
    event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNED)
    assert event.actor == world.admin


def test_reassign_to_another_providers_technician_is_refused(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    _action(as_user(world.admin), "reassign_selected", [ticket], apply="1", assignee=world.yuri.pk)
    ticket.refresh_from_db()
    assert ticket.assigned_to is None
    assert not ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED).exists()


def test_cancel_writes_an_event_the_merchant_reads(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    _action(as_user(world.admin), "cancel_selected", [ticket], apply="1", reason="Test ticket")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    event = ticket.events.get(kind=TicketEvent.Kind.CANCELLED_BY_ADMIN)
    assert (event.actor, event.public, event.body) == (world.admin, True, "Test ticket")


def test_close_as_duplicate_names_the_original(world: World, as_user) -> None:  # noqa: ANN001
    original = queued_ticket(world.device_a, reporter=world.alice)
    duplicate = TicketFactory(device=world.device_a, reporter=world.alice)
    _action(
        as_user(world.admin),
        "close_as_duplicate",
        [duplicate],
        apply="1",
        original=original.reference,
    )
    duplicate.refresh_from_db()
    assert duplicate.status == Ticket.Status.CLOSED
    event = duplicate.events.get(kind=TicketEvent.Kind.DUPLICATE)
    assert event.data == {"original": original.reference}
    assert event.actor == world.admin


def test_a_duplicate_of_another_merchants_ticket_is_refused(world: World, as_user) -> None:  # noqa: ANN001
    other = queued_ticket(world.device_b, reporter=world.bob)
    ticket = queued_ticket(world.device_a, reporter=world.alice)
    _action(
        as_user(world.admin), "close_as_duplicate", [ticket], apply="1", original=other.reference
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.QUEUED
