"""A technician who leaves gives back their open tickets, which return to the queue.

Deactivated, moved to another provider, membership removed, or deleted: however the
change is made (a model save, the Django admin's user page and its membership inline),
each open ticket they held is unassigned through the workflow with an internal event
naming who left, and one in progress is queued again for a colleague to claim.
"""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.forms import MultiWidget
from django.test import Client
from django.urls import reverse

from conftest import World
from devices.models import Membership
from portal.models import User
from tests.factories import queued_ticket
from tickets import services, workflow
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db
S = Ticket.Status


def held_by(world: World, user: User, status: str = S.IN_PROGRESS, **fields: object) -> Ticket:
    return queued_ticket(
        world.device_a, status=status, reporter=world.alice, assigned_to=user, **fields
    )


def left_event(ticket: Ticket) -> TicketEvent:
    return ticket.events.get(kind=TicketEvent.Kind.UNASSIGNED)


def test_deactivating_a_technician_returns_their_ticket_to_the_queue(world: World) -> None:
    ticket = held_by(world, world.xena)

    world.xena.is_active = False
    world.xena.save()

    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.QUEUED)
    event = left_event(ticket)
    assert (event.public, event.actor, event.provider_id) == (False, None, world.provider_x.pk)
    assert event.data == {"leaver": world.xena.pk, "leaver_name": "xena", "reason": "deactivated"}


def test_a_ticket_waiting_on_the_merchant_keeps_waiting_unassigned(world: World) -> None:
    ticket = held_by(world, world.xena, status=S.WAITING_MERCHANT)

    world.xena.is_active = False
    world.xena.save()

    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.WAITING_MERCHANT)
    assert left_event(ticket)


def test_only_the_leavers_open_tickets_change(world: World) -> None:
    colleagues = held_by(world, world.xavier)
    resolved = held_by(world, world.xena, status=S.RESOLVED)
    closed = held_by(world, world.xena, status=S.CLOSED)

    world.xena.is_active = False
    world.xena.save()

    for ticket, assignee in (
        (colleagues, world.xavier),
        (resolved, world.xena),
        (closed, world.xena),
    ):
        ticket.refresh_from_db()
        assert ticket.assigned_to_id == assignee.pk
        assert not ticket.events.filter(kind=TicketEvent.Kind.UNASSIGNED).exists()


def test_saving_an_active_technician_changes_nothing(world: World) -> None:
    ticket = held_by(world, world.xena)

    world.xena.first_name = "Xena"
    world.xena.save()
    world.xena.save(update_fields=["last_login"])

    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (world.xena.pk, S.IN_PROGRESS)
    assert not ticket.events.filter(kind=TicketEvent.Kind.UNASSIGNED).exists()


def test_moving_a_technician_to_another_provider_returns_the_old_providers_tickets(
    world: World,
) -> None:
    old = held_by(world, world.xena)
    # A ticket in the new provider's queue that they already hold stays theirs.
    new = queued_ticket(
        world.device_b, status=S.IN_PROGRESS, reporter=world.bob, assigned_to=world.xena
    )

    membership = Membership.objects.get(user=world.xena)
    membership.provider = world.provider_y
    membership.save()

    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.assigned_to_id, old.status) == (None, S.QUEUED)
    assert left_event(old).data["reason"] == "moved"
    assert new.assigned_to_id == world.xena.pk


def test_moving_a_technician_to_a_merchant_returns_their_tickets(world: World) -> None:
    ticket = held_by(world, world.xena)

    membership = Membership.objects.get(user=world.xena)
    membership.provider = None
    membership.merchant = world.merchant_b
    membership.save()

    ticket.refresh_from_db()
    assert ticket.assigned_to_id is None
    assert left_event(ticket).data["reason"] == "moved"


def test_removing_the_membership_returns_the_tickets(world: World) -> None:
    ticket = held_by(world, world.xena)

    Membership.objects.get(user=world.xena).delete()

    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.QUEUED)
    assert left_event(ticket).data["reason"] == "removed"


def test_deleting_the_user_still_records_who_left(world: World) -> None:
    ticket = held_by(world, world.xena)
    xena_pk = world.xena.pk

    world.xena.delete()

    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.QUEUED)
    assert left_event(ticket).data == {
        "leaver": xena_pk,
        "leaver_name": "xena",
        "reason": "removed",
    }


def test_the_action_refuses_a_ticket_someone_else_holds_now(world: World) -> None:
    ticket = held_by(world, world.xavier)
    with pytest.raises(workflow.NotAllowed):
        workflow.unassign_leaver(ticket, world.xena, workflow.LEFT_DEACTIVATED)
    assert services.release_assigned_tickets(user=world.xena, reason="deactivated") == 0
    ticket.refresh_from_db()
    assert ticket.assigned_to_id == world.xavier.pk


# Through the Django admin ---------------------------------------------------------------------


def _value(value: object) -> object:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return value


def _fields(form) -> dict[str, object]:  # noqa: ANN001
    """What a browser would send back for `form` as the admin rendered it."""
    data: dict[str, object] = {}
    for bound in form:
        if bound.field.disabled:
            continue
        value = bound.value()
        widget = bound.field.widget
        if isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{bound.html_name}_{index}"] = _value(part) if part is not None else ""
        elif isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(item) for item in value]
        elif value is not None:
            data[bound.html_name] = _value(value)
    return data


def admin_user_form(client: Client, user: User) -> tuple[str, dict[str, object]]:
    url = reverse("admin:portal_user_change", args=[user.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _fields(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_fields(formset.management_form))
        for form in formset.forms:
            data.update(_fields(form))
    return url, data


def test_an_admin_deactivating_a_technician_returns_their_tickets(world: World, as_user) -> None:  # noqa: ANN001
    ticket = held_by(world, world.xena)
    client = as_user(world.admin)
    url, data = admin_user_form(client, world.xena)
    data.pop("is_active")

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.QUEUED)
    assert left_event(ticket).data["reason"] == "deactivated"


def test_an_admin_moving_a_technician_in_the_inline_returns_their_tickets(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = held_by(world, world.xena)
    client = as_user(world.admin)
    url, data = admin_user_form(client, world.xena)
    data["membership-0-provider"] = world.provider_y.pk

    response = client.post(url, data)

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (None, S.QUEUED)
    assert left_event(ticket).data["reason"] == "moved"


def test_the_technicians_page_says_who_left_and_a_colleague_can_claim(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    ticket = held_by(world, world.xena)
    world.xena.is_active = False
    world.xena.save()

    client = as_user(world.xavier)
    page = client.get(reverse("tickets:work_ticket", args=[ticket.reference]))
    assert "xena left: account deactivated" in page.text
    claimed = client.post(reverse("tickets:work_claim", args=[ticket.reference]))
    assert claimed.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assigned_to_id, ticket.status) == (world.xavier.pk, S.IN_PROGRESS)


def test_the_merchant_never_sees_the_event(world: World, as_user) -> None:  # noqa: ANN001
    ticket = held_by(world, world.xena)
    world.xena.is_active = False
    world.xena.save()

    page = as_user(world.alice).get(ticket.get_absolute_url())
    assert "xena" not in page.text
    assert "Back in the queue" not in page.text
