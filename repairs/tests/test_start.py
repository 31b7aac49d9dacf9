"""Choosing how a decided repair happens: only once it is decided, once, by the
ticket's provider; each method's first step is a public event by the technician."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from repairs.models import Repair
from repairs.tests.helpers import billable_ticket, slot_post, warranty_ticket
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Ticket, TicketEvent

K = TicketEvent.Kind
SEND_IN = {
    "send_in-centre_address": "Lakala repair centre, 88 Zhangjiang Rd, Shanghai",
    "send_in-courier": "SF Express",
    "send_in-tracking": "SF1234567890",
}
SWAP = {
    "swap-replacement_serial": "LKL-00099",
    "swap-courier": "JD Logistics",
    "swap-tracking": "JD0042",
}


def _start(client, ticket: Ticket, method: str, data: dict):  # noqa: ANN001, ANN202
    return client.post(reverse(f"repairs:work_start_{method}", args=[ticket.reference]), data)


def test_a_send_in_starts_with_the_centre_courier_and_tracking(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    response = _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    assert response.status_code == 302
    repair = Repair.objects.get(ticket=ticket)
    assert (repair.method, repair.step) == ("send_in", "awaiting_unit")
    assert repair.centre_address.startswith("Lakala repair centre")
    assert (repair.courier_in, repair.tracking_in) == ("SF Express", "SF1234567890")
    assert repair.created_by == world.xavier
    event = ticket.events.get(kind=K.REPAIR_SEND_IN)
    assert event.public
    assert event.actor == world.xavier
    assert event.data["tracking"] == "SF1234567890"
    assert event.text == (
        "Send the terminal to Lakala repair centre, 88 Zhangjiang Rd, Shanghai by SF Express, "
        "tracking number SF1234567890."
    )


def test_a_swap_starts_with_the_replacement_on_its_way(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _start(as_user(world.xavier), ticket, "swap", SWAP)
    repair = Repair.objects.get(ticket=ticket)
    assert (repair.method, repair.step) == ("swap", "replacement_shipped")
    assert (repair.replacement_serial, repair.tracking_out) == ("LKL-00099", "JD0042")
    assert repair.shipped_at is not None
    event = ticket.events.get(kind=K.REPAIR_SWAP)
    assert event.public
    assert event.actor == world.xavier
    assert event.data["serial"] == "LKL-00099"


def test_a_visit_starts_with_a_proposed_slot(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    _start(as_user(world.xavier), ticket, "visit", slot_post("visit"))
    repair = Repair.objects.get(ticket=ticket)
    assert (repair.method, repair.step) == ("visit", "visit_proposed")
    assert repair.slot_end > repair.slot_start
    event = ticket.events.get(kind=K.REPAIR_VISIT)
    assert event.public
    assert event.actor == world.xavier
    assert "A technician proposes to visit" in event.text


def test_a_step_is_mailed_to_the_shop(world, as_user) -> None:  # noqa: ANN001
    from mail.models import OutboundEmail

    ticket = warranty_ticket(world)
    _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    event = ticket.events.get(kind=K.REPAIR_SEND_IN)
    mails = OutboundEmail.objects.filter(event=event)
    assert [mail.recipient for mail in mails] == [world.alice.email]
    assert "SF1234567890" in mails[0].text


@pytest.mark.parametrize(("method", "data"), [("send_in", SEND_IN), ("swap", SWAP)])
def test_no_logistics_before_an_accepted_quote(world, as_user, method, data) -> None:  # noqa: ANN001
    ticket = billable_ticket(world, accepted=False)  # the quote waits for the merchant
    response = _start(as_user(world.xavier), ticket, method, data)
    assert response.status_code == 302
    assert not Repair.objects.filter(ticket=ticket).exists()
    assert not ticket.events.filter(kind__startswith="repair_").exists()


def test_no_logistics_on_a_billable_ticket_without_a_quote(world, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(
        world.device_a, kind="paid_repair", status=Ticket.Status.IN_PROGRESS, billable=True
    )
    response = _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    assert not Repair.objects.filter(ticket=ticket).exists()
    page = as_user(world.xavier).get(response["Location"])
    assert "the merchant must accept a quote before repair work" in page.text


def test_no_logistics_while_the_warranty_claim_is_unverified(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world, warranty_check="claimed")
    assert ticket.warranty_to_verify
    _start(as_user(world.xavier), ticket, "swap", SWAP)
    assert not Repair.objects.filter(ticket=ticket).exists()


def test_a_declined_quote_starts_nothing(world, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(
        world.device_a, kind="paid_repair", status=Ticket.Status.IN_PROGRESS, billable=True
    )
    workflow.send_quote(ticket, world.xavier, Decimal("100"), "Screen")
    workflow.decline_quote(ticket, world.alice)
    _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    assert not Repair.objects.filter(ticket=ticket).exists()


def test_an_accepted_quote_opens_the_logistics(world, as_user) -> None:  # noqa: ANN001
    ticket = billable_ticket(world)
    _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    assert Repair.objects.filter(ticket=ticket, step="awaiting_unit").exists()


def test_it_is_chosen_once(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    client = as_user(world.xavier)
    _start(client, ticket, "send_in", SEND_IN)
    response = _start(client, ticket, "swap", SWAP)
    assert response.status_code == 302
    assert Repair.objects.get(ticket=ticket).method == "send_in"
    assert ticket.events.filter(kind__startswith="repair_").count() == 1


def test_a_closed_ticket_gets_no_logistics(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    _start(as_user(world.xavier), ticket, "send_in", SEND_IN)
    assert not Repair.objects.filter(ticket=ticket).exists()


def test_a_form_error_shows_the_field_and_keeps_the_typed_text(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    data = {**SEND_IN, "send_in-tracking": ""}
    response = _start(as_user(world.xavier), ticket, "send_in", data)
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert "88 Zhangjiang Rd" in response.text
    assert 'value="SF Express"' in response.text
    assert not Repair.objects.filter(ticket=ticket).exists()


def test_a_visit_in_the_past_or_ending_before_it_starts_is_refused(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    client = as_user(world.xavier)
    past = _start(client, ticket, "visit", slot_post("visit", days=-1))
    assert past.status_code == 400
    assert "Propose a time in the future." in past.text
    backwards = {**slot_post("visit"), "visit-end": "09:00"}
    response = _start(client, ticket, "visit", backwards)
    assert response.status_code == 400
    assert "The visit must end after it starts." in response.text
    assert not Repair.objects.filter(ticket=ticket).exists()


def test_a_card_number_is_refused_in_the_address(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    data = {**SEND_IN, "send_in-centre_address": "Card 4111 1111 1111 1111, Shanghai"}
    response = _start(as_user(world.xavier), ticket, "send_in", data)
    assert response.status_code == 400
    assert not Repair.objects.filter(ticket=ticket).exists()
