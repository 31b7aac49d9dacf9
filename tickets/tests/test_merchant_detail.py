"""/tickets/<reference>/: what the merchant sees of one ticket, and nothing more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import TicketFactory, queued_ticket
from tickets import routing, workflow
from tickets.models import Quote, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _routed(world) -> Ticket:  # noqa: ANN001
    ticket = TicketFactory(device=world.device_a, reporter=world.alice)
    routing.route(ticket.pk)
    ticket.refresh_from_db()
    return ticket


def test_it_shows_status_routing_and_who_handles_it(world, as_user) -> None:
    world.provider_x.hotline = "400-123-4567"
    world.provider_x.support_24h = True
    world.provider_x.save()
    ticket = _routed(world)
    workflow.claim(ticket, world.xavier)
    world.xavier.first_name, world.xavier.last_name = "Xavier", "Xu"
    world.xavier.save()
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert response.status_code == 200
    assert "In progress" in response.text
    assert ticket.routing_note in response.text
    assert "Provider X" in response.text
    assert "400-123-4567" in response.text
    assert "24 hours" in response.text
    assert "Xavier Xu" in response.text


def test_a_new_ticket_says_it_is_being_routed(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a)
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "We are finding who will fix it" in response.text


def test_the_timeline_shows_public_events_and_never_internal_notes(world, as_user) -> None:
    ticket = _routed(world)
    workflow.claim(ticket, world.xavier)
    workflow.reply(ticket, world.xavier, "Please send a photo of the screen.")
    workflow.note(ticket, world.xavier, "Merchant sounds upset; board is probably dead.")
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "Please send a photo of the screen." in response.text
    assert "board is probably dead" not in response.text
    assert "Internal note" not in response.text
    kinds = [event.kind for event in response.context["events"]]
    assert TicketEvent.Kind.NOTE not in kinds


def test_the_timeline_lists_attachments_with_download_links(world, as_user) -> None:
    from tickets.models import Attachment

    ticket = _routed(world)
    event = ticket.events.get(kind="routed")
    attachment = Attachment.objects.create(
        ticket=ticket,
        event=event,
        file="attachments/x.png",
        original_name="screen.png",
        content_type="image/png",
        size=10,
    )
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert attachment.get_absolute_url() in response.text
    assert "screen.png" in response.text


def test_a_pending_quote_offers_accept_and_decline(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, kind="paid_repair", billable=True)
    workflow.send_quote(ticket, world.xavier, Decimal("350.00"), "New display")
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "¥350.00" in response.text
    assert "New display" in response.text
    assert f"/tickets/{ticket.reference}/quote/accept/" in response.text
    assert f"/tickets/{ticket.reference}/quote/decline/" in response.text


def test_no_quote_buttons_without_a_pending_quote(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.WAITING_MERCHANT)
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "/quote/accept/" not in response.text


def test_a_resolved_ticket_offers_confirm_and_reopen(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Reset the network")
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "Reset the network" in response.text
    assert f"/tickets/{ticket.reference}/confirm/" in response.text
    assert f"/tickets/{ticket.reference}/reopen/" in response.text
    assert f"/tickets/{ticket.reference}/rate/" not in response.text


def test_a_closed_unrated_ticket_offers_the_rating(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert f"/tickets/{ticket.reference}/rate/" in response.text
    ticket.rating = 4
    ticket.save()
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert f"/tickets/{ticket.reference}/rate/" not in response.text
    assert "You rated this repair 4 of 5" in response.text


def test_an_open_ticket_offers_reply_and_cancel(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert f"/tickets/{ticket.reference}/reply/" in response.text
    assert f"/tickets/{ticket.reference}/cancel/" in response.text
    assert "A restart fixed it" in response.text


def test_another_merchants_ticket_is_a_404(world, as_user) -> None:
    ticket = queued_ticket(world.device_b)
    assert as_user(world.alice).get(ticket.get_absolute_url()).status_code == 404


def test_a_technician_gets_a_404_on_the_merchant_page(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    assert as_user(world.xavier).get(ticket.get_absolute_url()).status_code == 404


def test_an_unknown_reference_is_a_404(world, as_user) -> None:
    assert as_user(world.alice).get("/tickets/PD-999999/").status_code == 404


def test_pending_quote_is_found_by_status(world) -> None:
    # Guards the page's assumption: one pending quote at most (a database constraint).
    ticket = queued_ticket(world.device_a, kind="paid_repair", billable=True)
    workflow.send_quote(ticket, world.xavier, Decimal("10"), "Part")
    assert Quote.objects.filter(ticket=ticket, status=Quote.Status.PENDING).count() == 1


def test_the_checks_already_tried_are_shown_in_words(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, checks_tried=["paper", "restart"])
    response = as_user(world.alice).get(ticket.get_absolute_url())
    assert "Paper roll loaded the right way round" in response.text
    assert "Restarted the terminal" in response.text


def test_the_timeline_says_how_a_closed_ticket_was_resolved(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "New screen fitted")
    workflow.confirm(ticket, world.alice)

    text = as_user(world.alice).get(ticket.get_absolute_url()).text

    assert "Resolved · Repaired at repair centre" in text
