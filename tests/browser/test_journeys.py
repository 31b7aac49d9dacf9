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

from devices.models import Device, Provider
from tests.browser.conftest import Session
from tests.factories import (
    PASSWORD,
    BrandFactory,
    DeviceFactory,
    DeviceModelFactory,
    TicketFactory,
)
from tickets import routing, workflow
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


def filed_and_routed(device: Device, reporter, symptom: str, description: str) -> Ticket:  # noqa: ANN001
    """A ticket as the filing page leaves it (journey 1 walks those pages)."""
    ticket = TicketFactory(
        device=device, reporter=reporter, symptom=symptom, description=description
    )
    return routing.route(ticket.pk)


def open_ticket_from_work(technician: Session, reference: str) -> None:
    technician.nav("My work")
    technician.click("link", reference)
    assert reference in technician.text()


def act(technician: Session, summary: str, fields: dict[str, str], button: str) -> None:
    """Open one of the ticket page's folded action forms, fill it and send it."""
    page = technician.page
    page.locator("summary", has_text=summary).click()
    form = page.locator("details[open] form")
    for label, value in fields.items():
        field = form.get_by_label(label)
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    form.get_by_role("button", name=button).click()
    technician.settle()


def test_a_technician_and_the_merchant_work_a_ticket_to_a_rated_close(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    ticket = filed_and_routed(
        world.device_a, world.alice, "printer", "Printer jams on every receipt."
    )
    assert ticket.queue.kind == Queue.Kind.WARRANTY_REPAIR
    merchant, technician = open_session(), open_session()
    technician.log_in("xavier", PASSWORD)
    merchant.log_in("alice", PASSWORD)

    open_ticket_from_work(technician, ticket.reference)
    technician.click("button", re.compile("claim this ticket", re.I))
    act(
        technician,
        "Ask the merchant",
        {"Question for the merchant": "Which paper rolls do you use?"},
        "Send question",
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.WAITING_MERCHANT

    merchant.nav("My tickets")
    merchant.click("link", ticket.reference)
    assert "Which paper rolls do you use?" in merchant.text()
    merchant.page.get_by_label("Your reply").fill("57 mm thermal rolls from the bank.")
    merchant.click("button", re.compile("^send$", re.I))
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.IN_PROGRESS

    technician.page.reload()
    technician.settle()
    assert "57 mm thermal rolls from the bank." in technician.text()
    act(
        technician,
        "Resolve",
        {"Resolution": "Remote fix", "What was done": "Paper loaded the right way round."},
        "Resolve",
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.RESOLVED

    merchant.page.reload()
    merchant.settle()
    assert "Paper loaded the right way round." in merchant.text()
    merchant.click("button", re.compile("yes, it works", re.I))
    merchant.page.get_by_label("5", exact=True).check()
    merchant.page.get_by_label("Comment").fill("Quick and friendly.")
    merchant.click("button", re.compile("send rating", re.I))

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.rating == 5
    kinds = list(ticket.events.values_list("kind", flat=True))
    for kind in ("routed", "claimed", "question", "merchant_reply", "resolved", "rated"):
        assert kind in kinds, kinds
    assert "5 of 5" in merchant.text() or "5/5" in merchant.text()
    merchant.screenshot("journey2-rated-merchant")
    technician.page.reload()
    technician.settle()
    technician.screenshot("journey2-closed-technician")


def test_an_out_of_warranty_repair_is_quoted_accepted_repaired_and_closed(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    device = DeviceFactory(
        merchant=world.merchant_a,
        provider=world.provider_x,
        acquirer=world.provider_x,
        purchase_date=date.today() - timedelta(days=800),
        warranty_end=date.today() - timedelta(days=70),
    )
    ticket = filed_and_routed(
        device, world.alice, "card_reader", "Card reader does not read chips."
    )
    assert ticket.queue.kind == Queue.Kind.PAID_REPAIR
    assert ticket.billable is True
    merchant, technician = open_session(), open_session()
    technician.log_in("xavier", PASSWORD)
    merchant.log_in("alice", PASSWORD)

    open_ticket_from_work(technician, ticket.reference)
    technician.click("button", re.compile("claim this ticket", re.I))
    act(
        technician,
        "Send a quote",
        {"Amount (CNY)": "180.00", "What it covers": "New chip reader module and labour."},
        "Send quote",
    )

    merchant.nav("My tickets")
    merchant.click("link", ticket.reference)
    assert "¥180.00" in merchant.text()
    assert "New chip reader module and labour." in merchant.text()
    merchant.click("button", re.compile("accept the quote", re.I))
    assert ticket.quotes.get().status == "accepted"

    technician.page.reload()
    technician.settle()
    act(
        technician,
        "Resolve",
        {"Resolution": "Repaired on site", "What was done": "Chip reader module replaced."},
        "Resolve",
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.RESOLVED

    merchant.page.reload()
    merchant.settle()
    merchant.click("button", re.compile("yes, it works", re.I))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.resolution_code == Ticket.Resolution.ON_SITE
    kinds = list(ticket.events.values_list("kind", flat=True))
    for kind in ("quote_sent", "quote_accepted", "resolved", "confirmed"):
        assert kind in kinds, kinds
    merchant.screenshot("journey3-closed-merchant")


def test_an_admin_adds_a_provider_and_a_rule_that_the_next_ticket_follows(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    admin = open_session()
    admin.log_in("admin", PASSWORD)
    page = admin.page

    admin.go("/admin/devices/provider/add/")
    page.get_by_label("Name").fill("Provider Z")
    page.get_by_label("Kind").select_option(label="Third-party service provider")
    page.get_by_label("Hotline").fill("400-123-4567")
    admin.click("button", re.compile("^save$", re.I))
    provider_z = Provider.objects.get(name="Provider Z")
    # A new provider gets its queues by itself.
    remote_z = Queue.objects.get(provider=provider_z, kind=Queue.Kind.REMOTE_SUPPORT)

    admin.go("/admin/tickets/routingrule/add/")
    page.get_by_label("Order").fill("5")
    page.get_by_label("Name").fill("Provider Z hardware: remote support first")
    page.get_by_label("Category").select_option(label="Hardware")
    # The provider field is an autocomplete (the admin's own JavaScript, under our CSP).
    page.locator(".select2-selection").first.click()
    page.locator(".select2-search__field").fill("Provider Z")
    page.locator(".select2-results__option", has_text="Provider Z").click()
    page.get_by_label("Route to").select_option(label="The device's service provider")
    page.get_by_label("Queue kind").select_option(label="Remote support")
    page.get_by_label("Billable").select_option(label="No")
    admin.click("button", re.compile("^save$", re.I))
    assert "was added successfully" in admin.text()
    admin.screenshot("journey4-admin-rules")

    DeviceModelFactory(brand=BrandFactory(name="Newland"), name="N910")
    merchant = open_session()
    merchant.log_in("alice", PASSWORD)
    merchant.nav("My terminals")
    merchant.click("link", re.compile("register a terminal", re.I))
    merchant.page.get_by_label("Model").select_option(label="N910")
    merchant.page.get_by_label("Serial number").fill("NL0001")
    merchant.page.get_by_label("Purchase date").fill(
        (date.today() - timedelta(days=30)).isoformat()
    )
    merchant.page.get_by_label("Service provider").select_option(label="Provider Z")
    merchant.click("button", re.compile("save terminal", re.I))

    reference = file_fault(merchant, "NL0001")
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.queue == remote_z
    routed = ticket.events.get(kind=TicketEvent.Kind.ROUTED)
    assert routed.data["rule_name"] == "Provider Z hardware: remote support first"
    assert "remote support by Provider Z" in merchant.page.locator("#routing-note").inner_text()
    merchant.screenshot("journey4-new-rule-followed")


def test_every_main_page_fits_a_phone_without_sideways_scrolling(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    """Each page a merchant or technician uses, at 390 px: no sideways scroll, no errors."""
    ticket = filed_and_routed(world.device_a, world.alice, "screen", "Dark screen. " * 40)
    workflow.claim(ticket, world.xavier)
    workflow.reply(ticket, world.xavier, "A long reply without spaces: " + "x" * 120)
    anonymous = open_session(phone=True)
    anonymous.go("/accounts/login/")
    merchant = open_session(phone=True)
    merchant.log_in("alice", PASSWORD)
    for path in (
        "/devices/",
        "/devices/new/",
        "/devices/import/",
        f"/devices/{world.device_a.pk}/",
        f"/devices/{world.device_a.pk}/edit/",
        "/tickets/",
        "/tickets/new/",
        f"/tickets/new/?device={world.device_a.pk}&category=hardware",
        f"/tickets/{ticket.reference}/",
        "/accounts/password/",
    ):
        merchant.go(path)  # checks the width and the watch on every page
    technician = open_session(phone=True)
    technician.log_in("xavier", PASSWORD)
    for path in (
        "/work/",
        f"/work/queues/{ticket.queue_id}/",
        f"/work/tickets/{ticket.reference}/",
    ):
        technician.go(path)
    technician.screenshot("phone-technician-ticket")


def test_a_merchant_on_a_phone_sends_a_missing_proof_that_the_technician_verifies(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
    settings,  # noqa: ANN001
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    device = DeviceFactory(
        merchant=world.merchant_a,
        provider=world.provider_x,
        acquirer=world.provider_x,
        purchase_date=None,
        warranty_end=None,
    )
    ticket = filed_and_routed(device, world.alice, "screen", "The screen stays dark.")
    assert ticket.warranty_status == "unknown"
    receipt = tmp_path / "receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n")

    merchant = open_session(phone=True)
    merchant.log_in("alice", PASSWORD)
    merchant.nav("My tickets")
    merchant.click("link", ticket.reference)
    assert "Send the proof of purchase" in merchant.text()
    page = merchant.page
    page.get_by_label("Proof of purchase").set_input_files(str(receipt))
    page.get_by_label("Date on the receipt").fill((date.today() - timedelta(days=40)).isoformat())
    merchant.click("button", re.compile("send the proof", re.I))
    assert "checks your proof of purchase" in merchant.text()
    merchant.screenshot("journey5-proof-sent-phone")
    device.refresh_from_db()
    assert device.proof_of_purchase

    technician = open_session()
    technician.log_in("xavier", PASSWORD)
    open_ticket_from_work(technician, ticket.reference)
    assert "download the proof" in technician.text()
    act(
        technician,
        "Verify the warranty",
        {"Checked against": "Proof of purchase checked"},
        "Verify",
    )
    ticket.refresh_from_db()
    assert ticket.warranty_check == "verified"
    assert ticket.warranty_status == "in"
    assert ticket.billable is False
    assert ticket.events.filter(kind=TicketEvent.Kind.WARRANTY_VERIFIED, actor=world.xavier)

    merchant.page.reload()
    merchant.settle()
    assert "Warranty verified" in merchant.text()
    assert "The repair is covered by warranty: it is free." in merchant.text()
    merchant.screenshot("journey5-verified-phone")


def test_a_technician_verifies_a_claimed_warranty_before_a_free_repair(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    device = DeviceFactory(
        merchant=world.merchant_a,
        provider=world.provider_x,
        acquirer=world.provider_x,
        warranty_check="claimed",
        warranty_checked_at=None,
        warranty_source="",
    )
    ticket = filed_and_routed(device, world.alice, "printer", "The printer jams every slip.")
    assert ticket.queue.kind == Queue.Kind.WARRANTY_REPAIR
    assert ticket.billable is None
    technician = open_session()
    technician.log_in("xavier", PASSWORD)
    open_ticket_from_work(technician, ticket.reference)
    assert "warranty to verify" in technician.text()
    assert "The merchant claims this terminal is in warranty" in technician.text()
    act(technician, "Verify the warranty", {"Note": "Invoice 2026-118 checked."}, "Verify")
    assert "warranty to verify" not in technician.text()
    act(
        technician,
        "Resolve",
        {"Resolution": "Repaired on site", "What was done": "Printer roller replaced."},
        "Resolve",
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert ticket.billable is False
    technician.screenshot("journey6-verified-resolved")
