"""The product as its users meet it: a browser, the real pages, nothing called behind them.

1. A merchant registers a terminal and files a hardware fault on it (in warranty):
   the ticket is routed to the provider's warranty queue and the page says why.
   Also on a 390×844 phone, where no page may scroll sideways.
2. A technician claims it, asks a question, the merchant answers, the technician
   resolves, the merchant confirms and rates.
3. Out of warranty: a quote is sent, the merchant accepts, the repair is resolved,
   the merchant closes it.
4. An admin adds a provider and a routing rule in the Django admin; the next ticket
   follows the new rule.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from devices.models import Device
from tests.browser.conftest import Session
from tests.factories import PASSWORD, BrandFactory, DeviceModelFactory
from tickets.models import Queue, Ticket, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def register_terminal(merchant: Session, serial: str, model: str) -> None:
    merchant.nav("My terminals")
    merchant.click("link", re.compile("register a terminal", re.I))
    page = merchant.page
    page.get_by_label("Model").select_option(label=model)
    page.get_by_label("Serial number").fill(serial)
    page.get_by_label("Location").fill("Front counter")
    page.get_by_label("Purchase date").fill((date.today() - timedelta(days=60)).isoformat())
    page.get_by_label("Service provider").select_option(label="Provider X")
    merchant.click("button", re.compile("save terminal", re.I))
    assert serial in merchant.text()


def file_fault(
    merchant: Session,
    serial: str,
    *,
    category: str = "Hardware",
    symptom: str = "Screen dead, dark or broken",
    description: str = "The screen stays dark after a restart.",
) -> str:
    """Walk the filing pages: terminal and kind, quick checks, the details. The reference."""
    merchant.nav("Report a fault")
    page = merchant.page
    device = page.locator("select[name=device] option", has_text=serial)
    page.locator("select[name=device]").select_option(device.get_attribute("value"))
    page.get_by_label(category, exact=True).check()
    merchant.click("button", re.compile("next", re.I))
    page.get_by_label(re.compile("restarted the terminal", re.I)).check()
    # The details stay folded (static/js/ticket-new.js) until the checks did not help.
    page.get_by_role("button", name=re.compile("still not working", re.I)).click()
    page.get_by_label(re.compile("what is wrong", re.I)).select_option(label=symptom)
    page.get_by_label(re.compile("no, the shop cannot take card payments", re.I)).check()
    page.get_by_label(re.compile("what happens", re.I)).fill(description)
    merchant.click("button", re.compile("file the ticket", re.I))
    match = re.search(r"/tickets/(PD-\d+)/", page.url)
    assert match, page.url
    return match.group(1)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_merchant_registers_a_terminal_and_files_a_fault_that_is_routed(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
    phone: bool,
) -> None:
    DeviceModelFactory(brand=BrandFactory(name="PAX"), name="A920", default_warranty_months=24)
    merchant = open_session(phone=phone)
    merchant.log_in("alice", PASSWORD)

    register_terminal(merchant, "PAX0001", "A920")
    device = Device.objects.get(serial_number="PAX0001")
    assert device.merchant == world.merchant_a
    assert device.warranty_status() == "in"

    reference = file_fault(merchant, "PAX0001")

    ticket = Ticket.objects.get(reference=reference)
    assert ticket.status == Ticket.Status.QUEUED
    assert ticket.queue == Queue.objects.get(
        provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR
    )
    assert ticket.events.filter(kind=TicketEvent.Kind.ROUTED).count() == 1
    routing_note = merchant.page.locator("#routing-note").inner_text()
    assert "In warranty until" in routing_note
    assert "free repair by Provider X" in routing_note
    assert "Provider X" in merchant.text()
    merchant.screenshot(f"journey1-filed-{'phone' if phone else 'desktop'}")
