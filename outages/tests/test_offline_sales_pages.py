"""The offline sales log's pages (item 6): who reaches them, logging, totals, the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from outages import services
from outages.models import OfflineSale
from tests.factories import queued_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
CARD = "4111 1111 1111 1111"
MERCHANT_PAGES = (
    "outages:offline_sales",
    "outages:offline_sales_csv",
    "outages:offline_sales_print",
)


@pytest.fixture
def down(world):  # noqa: ANN001, ANN201
    """Shop A's ticket: it cannot take card payments since an hour ago."""
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.NO)
    services.start_downtime(ticket, timezone.now() - timedelta(hours=1))
    return ticket


def _sale(ticket, user, amount: str, method: str, **fields) -> OfflineSale:  # noqa: ANN001
    return services.log_sale(
        ticket,
        user,
        sold_at=fields.pop("sold_at", timezone.now() - timedelta(minutes=10)),
        amount=Decimal(amount),
        method=method,
        **fields,
    )


def _post(client, ticket, **fields):  # noqa: ANN001, ANN202
    data = {
        "sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "amount": "25.50",
        "method": "cash",
        "card_last4": "",
        "note": "",
        **fields,
    }
    return client.post(reverse("outages:offline_sales", args=[ticket.reference]), data)


def test_the_shop_logs_a_sale(world, as_user, down) -> None:
    response = _post(as_user(world.alice), down, method="qr", note="2 coffees")
    assert response.status_code == 302
    sale = OfflineSale.objects.get()
    assert (sale.amount, sale.method, sale.note) == (Decimal("25.50"), "qr", "2 coffees")
    assert sale.recorded_by == world.alice


@pytest.mark.parametrize("name", MERCHANT_PAGES)
def test_it_validates_ownership(world, as_user, down, name: str) -> None:
    _sale(down, world.alice, "10", "cash")
    url = reverse(name, args=[down.reference])
    for user in (world.bob, world.xavier, world.yuri):
        assert as_user(user).get(url).status_code == 404
    assert as_user(world.alice).get(url).status_code == 200


def test_another_shop_cannot_log_a_sale_on_it(world, as_user, down) -> None:
    assert _post(as_user(world.bob), down).status_code == 404
    assert not OfflineSale.objects.exists()


def test_the_handling_providers_technician_reads_the_log_and_no_one_else(
    world, as_user, down
) -> None:
    _sale(down, world.alice, "10", "cash", note="bread")
    url = reverse("outages:work_offline_sales", args=[down.reference])
    page = as_user(world.xavier).get(url)
    assert page.status_code == 200
    assert "bread" in page.text
    assert 'id="offline-sale-form"' not in page.text
    assert as_user(world.yuri).get(url).status_code == 404
    assert as_user(world.alice).get(url).status_code == 404
    assert as_user(world.bob).get(url).status_code == 404
    assert as_user(world.xavier).post(url).status_code == 405


def test_the_list_shows_totals_per_method(world, as_user, down) -> None:
    _sale(down, world.alice, "10.00", "cash")
    _sale(down, world.alice, "5.50", "cash")
    _sale(down, world.alice, "30.00", "qr")
    response = as_user(world.alice).get(reverse("outages:offline_sales", args=[down.reference]))
    assert response.context["totals"] == [
        ("Cash", 2, Decimal("15.50")),
        ("QR code", 1, Decimal("30.00")),
    ]
    assert response.context["total"] == Decimal("45.50")
    assert '<td class="text-end text-nowrap" id="offline-total">¥45.50</td>' in response.text


def test_a_full_card_number_is_refused_next_to_the_field(world, as_user, down) -> None:
    response = _post(as_user(world.alice), down, card_last4=CARD, note="table 4")
    assert response.status_code == 400
    assert "card_last4" in response.context["form"].errors
    assert "Never enter a full card number" in response.text
    assert "table 4" in response.text  # what was typed is kept
    assert not OfflineSale.objects.exists()
    response = _post(as_user(world.alice), down, note=f"card {CARD}")
    assert "note" in response.context["form"].errors
    assert not OfflineSale.objects.exists()


def test_only_four_digits_are_kept(world, as_user, down) -> None:
    response = _post(as_user(world.alice), down, card_last4="12345")
    assert "card_last4" in response.context["form"].errors
    _post(as_user(world.alice), down, card_last4="4242")
    assert OfflineSale.objects.get().card_last4 == "4242"


def test_no_log_without_a_downtime(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, can_take_payments=Ticket.Payments.YES)
    client = as_user(world.alice)
    page = client.get(reverse("outages:offline_sales", args=[ticket.reference])).text
    assert 'id="offline-sale-form"' not in page
    response = _post(client, ticket)
    assert response.status_code == 302
    assert not OfflineSale.objects.exists()


def test_the_service_refusal_is_a_form_error_not_a_500(world, as_user, down) -> None:
    long_before = timezone.localtime() - timedelta(days=3)
    response = _post(as_user(world.alice), down, sold_at=long_before.strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 400
    assert "before the terminal stopped" in response.text


def test_the_csv_is_formula_safe_utf8_with_a_bom(world, as_user, down) -> None:
    _sale(down, world.alice, "12.00", "other", note='=HYPERLINK("http://x")')
    _sale(down, world.alice, "8.00", "cash", note="@SUM(A1)")
    _sale(down, world.alice, "3.00", "cash", note="-2+3")
    _sale(down, world.alice, "4.00", "qr", note="豆浆 + 油条")
    response = as_user(world.alice).get(reverse("outages:offline_sales_csv", args=[down.reference]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:3] == ["Time of the sale", "Amount (CNY)", "Paid by"]
    notes = [row[4] for row in rows[1:]]
    assert notes == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3", "豆浆 + 油条"]
    assert [row[1] for row in rows[1:]] == ["12.00", "8.00", "3.00", "4.00"]


def test_the_print_page_has_the_shop_terminal_ticket_period_sales_and_totals(
    world, as_user, down
) -> None:
    _sale(down, world.alice, "10.00", "cash", note="noodles")
    _sale(down, world.alice, "20.00", "backup_terminal")
    page = (
        as_user(world.alice).get(reverse("outages:offline_sales_print", args=[down.reference])).text
    )
    for text in (
        world.merchant_a.name,
        world.device_a.serial_number,
        down.reference,
        "still down",
        "noodles",
        "Backup terminal",
        "¥30.00",
    ):
        assert text in page
