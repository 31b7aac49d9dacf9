"""Outage journeys of a shop on a phone (issue 13): it sees the known problem when it
starts a report and taps "Me too"; it logs three sales taken in cash and by QR code while
its terminal is down, and exports them as CSV and as a printable sheet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from outages import services
from outages.models import IncidentTicket, OfflineSale
from tests.factories import PASSWORD, queued_ticket
from tickets.models import Category, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_shop_sees_the_known_problem_and_taps_me_too(world, open_session) -> None:  # noqa: ANN001
    incident = services.declare(
        provider=world.provider_x,
        user=world.xavier,
        category=Category.NETWORK,
        symptoms=["host"],
        city="Shanghai",
        summary="Payment host unreachable",
        next_update_at=timezone.now() + timedelta(minutes=40),
    )
    shop = open_session(phone=True)
    shop.log_in("alice", PASSWORD)
    shop.go(f"/tickets/new/?device={world.device_a.pk}&category=network")
    warning = shop.page.locator(f"#known-problem-{incident.pk}")
    assert "Payment host unreachable in Shanghai" in warning.inner_text()
    assert "handled by Provider X" in warning.inner_text()
    warning.get_by_role("button", name="Me too").click()
    shop.settle()
    ticket = Ticket.objects.get()
    assert shop.page.url.endswith(ticket.get_absolute_url())
    assert "follows the known problem" in shop.text()
    assert "Still down" in shop.text()
    assert IncidentTicket.objects.get(ticket=ticket).incident == incident
    shop.screenshot("outage-me-too-phone")


def test_a_shop_logs_three_offline_sales_and_exports_them(world, open_session) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket, timezone.now() - timedelta(hours=2))
    shop = open_session(phone=True)
    shop.log_in("alice", PASSWORD)
    shop.go(ticket.get_absolute_url())
    shop.page.locator("#offline-log-link").click()
    shop.settle()
    sold = timezone.localtime() - timedelta(minutes=30)
    for minutes, amount, method, note in (
        (0, "18.50", "cash", "noodles"),
        (5, "42.00", "qr", "=SUM(A1)"),
        (9, "7.00", "cash", ""),
    ):
        form = shop.page.locator("#offline-sale-form")
        form.locator("input[name=sold_at]").fill(
            (sold + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")
        )
        form.locator("input[name=amount]").fill(amount)
        form.locator(f"input[name=method][value={method}]").check()
        form.locator("input[name=note]").fill(note)
        form.get_by_role("button", name="Add to the log").click()
        shop.settle()
    assert OfflineSale.objects.filter(ticket=ticket).count() == 3
    assert shop.page.locator("#offline-total").inner_text() == "¥67.50"
    with shop.page.expect_download() as download_info:
        shop.page.locator("#export-csv").click()
    path = download_info.value.path()
    text = open(path, encoding="utf-8-sig").read()  # noqa: PTH123, SIM115
    assert "'=SUM(A1)" in text
    assert text.count("\n") == 4
    shop.page.locator("#print-sheet").click()
    shop.settle()
    page = shop.text()
    for expected in (world.merchant_a.name, world.device_a.serial_number, ticket.reference):
        assert expected in page
    assert sum(sale.amount for sale in OfflineSale.objects.all()) == Decimal("67.50")
    shop.screenshot("outage-offline-sales-print-phone")
