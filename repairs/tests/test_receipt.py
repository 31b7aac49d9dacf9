"""The printable receipt of a billable repair: amount, what it covered, who did it;
for the shop and the ticket's provider, 404 for anyone else or before it exists."""

from __future__ import annotations

from django.urls import reverse

from repairs import services
from repairs.tests.helpers import billable_ticket, warranty_ticket
from repairs.tests.test_start import SEND_IN
from tickets import workflow
from tickets.models import Ticket


def _resolved_billable(world, as_user) -> Ticket:  # noqa: ANN001
    ticket = billable_ticket(world)
    as_user(world.xavier).post(
        reverse("repairs:work_start_send_in", args=[ticket.reference]), SEND_IN
    )
    world.xavier.first_name, world.xavier.last_name = "Xavier", "Wang"
    world.xavier.save()
    for step in ("received", "repaired"):
        services.take_step(ticket, world.xavier, step)
    services.take_step(ticket, world.xavier, "ship_back", courier="SF", tracking="SF123")
    services.take_step(ticket, world.alice, "delivered")
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "Reader replaced")
    ticket.refresh_from_db()
    return ticket


def test_the_receipt_says_the_amount_what_it_covered_and_who(world, as_user) -> None:  # noqa: ANN001
    ticket = _resolved_billable(world, as_user)
    for user, name in ((world.alice, "repairs:receipt"), (world.xavier, "repairs:work_receipt")):
        response = as_user(user).get(reverse(name, args=[ticket.reference]))
        assert response.status_code == 200
        page = response.text
        assert "¥280.00" in page
        assert "New card reader and labour" in page
        assert "Xavier Wang" in page
        assert "Provider X" in page
        assert ticket.reference in page
        assert ticket.device.serial_number in page
        assert "Send-in to the repair centre" in page
        assert "Repaired at repair centre" in page


def test_the_ticket_pages_link_the_receipt(world, as_user) -> None:  # noqa: ANN001
    ticket = _resolved_billable(world, as_user)
    shop_page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert reverse("repairs:receipt", args=[ticket.reference]) in shop_page
    work_page = (
        as_user(world.xavier).get(reverse("tickets:work_ticket", args=[ticket.reference])).text
    )
    assert reverse("repairs:work_receipt", args=[ticket.reference]) in work_page


def test_no_receipt_before_the_repair_is_resolved(world, as_user) -> None:  # noqa: ANN001
    ticket = billable_ticket(world)
    response = as_user(world.alice).get(reverse("repairs:receipt", args=[ticket.reference]))
    assert response.status_code == 404


def test_no_receipt_for_a_free_repair(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPLACED, "")
    response = as_user(world.alice).get(reverse("repairs:receipt", args=[ticket.reference]))
    assert response.status_code == 404


def test_outsiders_get_404_for_the_receipt(world, as_user) -> None:  # noqa: ANN001
    ticket = _resolved_billable(world, as_user)
    assert (
        as_user(world.bob).get(reverse("repairs:receipt", args=[ticket.reference])).status_code
        == 404
    )
    assert (
        as_user(world.yuri)
        .get(reverse("repairs:work_receipt", args=[ticket.reference]))
        .status_code
        == 404
    )
    # Each side's URL is its own: the merchant has no workspace, the technician no shop.
    assert (
        as_user(world.alice)
        .get(reverse("repairs:work_receipt", args=[ticket.reference]))
        .status_code
        == 404
    )
    assert (
        as_user(world.xavier).get(reverse("repairs:receipt", args=[ticket.reference])).status_code
        == 404
    )
