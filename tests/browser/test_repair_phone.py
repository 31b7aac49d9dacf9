"""A send-in repair (issue 14, item 10): the technician arranges it and records each
step at a desk; the shop follows it on a phone, from where to send the terminal to the
tracking number of its way back, says it arrived, and opens its receipt."""

from __future__ import annotations

import pytest
from django.urls import reverse

from repairs.models import Repair
from repairs.tests.helpers import billable_ticket
from tests.factories import PASSWORD
from tickets import workflow
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_send_in_repair_followed_by_the_shop_on_a_phone(world, open_session) -> None:  # noqa: ANN001
    ticket = billable_ticket(world)  # out of warranty, quote of ¥280.00 accepted
    work_url = reverse("tickets:work_ticket", args=[ticket.reference])

    tech = open_session()
    tech.log_in("xavier", PASSWORD)
    tech.go(work_url)
    block = tech.page.locator("#repair")
    block.get_by_text("Arrange the repair").click()
    block.get_by_text("Send-in to the repair centre").first.click()
    form = tech.page.locator("#repair-start-send_in")
    form.get_by_label("Repair centre's address").fill("Lakala repair centre, 88 Zhangjiang Rd")
    form.get_by_label("Courier").fill("SF Express")
    form.get_by_label("Tracking number").fill("SF1234567890")
    form.get_by_role("button", name="Send-in to the repair centre").click()
    tech.settle()
    assert "The repair is arranged" in tech.text()

    shop = open_session(phone=True)
    shop.log_in("alice", PASSWORD)
    shop.go(ticket.get_absolute_url())
    assert (
        "Send the terminal to Lakala repair centre, 88 Zhangjiang Rd by SF Express, "
        "tracking number SF1234567890."
    ) in shop.page.locator("#repair-next").inner_text()
    shop.screenshot("repair-send-in-phone")

    tech.click("button", "The terminal has arrived")
    tech.click("button", "The terminal is repaired")
    tech.page.locator("#repair-ship_back summary").click()
    ship = tech.page.locator("#repair-ship_back")
    ship.get_by_label("Courier").fill("SF Express")
    ship.get_by_label("Tracking number").fill("SF0987654321")
    ship.get_by_role("button", name="Shipped back").click()
    tech.settle()

    shop.go(ticket.get_absolute_url())
    next_step = shop.page.locator("#repair-next").inner_text()
    assert "on its way back by SF Express, tracking number SF0987654321" in next_step
    assert "The repair centre received the terminal." in shop.text()
    shop.click("button", "Received")
    assert "Noted: the terminal has arrived." in shop.text()
    assert "Your terminal arrived back on" in shop.page.locator("#repair-next").inner_text()
    assert Repair.objects.get(ticket=ticket).step == "delivered"

    workflow.resolve(ticket, world.xavier, Ticket.Resolution.REPAIR_CENTRE, "Card reader replaced")
    shop.go(ticket.get_absolute_url())
    shop.page.locator("#receipt-link").click()
    shop.settle()
    receipt = shop.page.locator("#receipt").inner_text()
    assert "¥280.00" in receipt
    assert "New card reader and labour" in receipt
    assert "Provider X" in receipt
    shop.screenshot("repair-receipt-phone")
