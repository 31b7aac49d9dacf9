"""/tickets/'s terminal filter: a select for a small shop, a search box for a chain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import DeviceFactory, TicketFactory, queued_ticket
from tickets.forms import TicketFilterForm
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
URL = reverse("tickets:list")
MAX = TicketFilterForm.TERMINALS_IN_SELECT


def _chain(world, extra: int = MAX) -> list:  # noqa: ANN001
    """Merchant A with `extra` terminals more than its own: more than a select holds."""
    return [
        DeviceFactory(merchant=world.merchant_a, provider=world.provider_x, location=f"Till {n}")
        for n in range(extra)
    ]


def test_a_shop_with_few_terminals_gets_the_select(world, as_user) -> None:
    response = as_user(world.alice).get(URL)
    assert '<select name="device"' in response.text
    assert 'name="terminal"' not in response.text
    assert world.device_a.serial_number in response.text


def test_the_select_lists_the_shop_s_terminals_up_to_the_limit(world, as_user) -> None:
    _chain(world, MAX - 1)  # with device_a: exactly MAX
    response = as_user(world.alice).get(URL)
    select = response.text.split('<select name="device"')[1].split("</select>")[0]
    assert select.count("<option") == MAX + 1  # and "Any terminal"


def test_a_chain_gets_a_search_box_instead_of_hundreds_of_options(world, as_user) -> None:
    _chain(world)
    response = as_user(world.alice).get(URL)
    assert response.status_code == 200
    assert '<select name="device"' not in response.text
    assert 'type="search" name="terminal"' in response.text
    assert "Serial number or location" in response.text


def test_a_chain_finds_a_terminal_s_tickets_by_serial_number(world, as_user) -> None:
    wanted, other = _chain(world)[:2]
    mine = queued_ticket(wanted)
    theirs = queued_ticket(other)
    # Part of the serial, in any case.
    query = wanted.serial_number[-5:].lower()
    response = as_user(world.alice).get(URL, {"terminal": query})
    assert mine.reference in response.text
    assert theirs.reference not in response.text
    assert f'value="{query}"' in response.text  # the box keeps what was typed


def test_a_chain_finds_a_till_s_tickets_by_location(world, as_user) -> None:
    devices = _chain(world)
    on_till_7 = TicketFactory(device=devices[7])
    on_till_8 = TicketFactory(device=devices[8])
    response = as_user(world.alice).get(URL, {"terminal": "till 7"})
    assert on_till_7.reference in response.text
    assert on_till_8.reference not in response.text


def test_the_search_never_reaches_another_merchant_s_tickets(world, as_user) -> None:
    _chain(world)
    theirs = queued_ticket(world.device_b)
    response = as_user(world.alice).get(URL, {"terminal": world.device_b.serial_number})
    assert response.status_code == 200
    assert theirs.reference not in response.text
    assert "No ticket matches these filters." in response.text


def test_page_links_keep_the_search(world, as_user) -> None:
    device = _chain(world)[0]
    for _ in range(26):
        TicketFactory(device=device)
    response = as_user(world.alice).get(URL, {"terminal": "till 0"})
    assert "?terminal=till+0&amp;page=2" in response.text


def test_the_search_is_escaped(world, as_user) -> None:
    _chain(world)
    payload = '"><script>alert(1)</script>'
    response = as_user(world.alice).get(URL, {"terminal": payload})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&quot;&gt;&lt;script&gt;" in response.text


def test_an_overlong_search_is_ignored(world, as_user) -> None:
    device = _chain(world)[0]
    ticket = TicketFactory(device=device)
    response = as_user(world.alice).get(URL, {"terminal": "x" * 65})
    assert response.status_code == 200
    assert ticket.reference in response.text


def _queries(client, params: dict | None = None) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params or {})
    assert response.status_code == 200
    return len(queries)


def test_select_and_search_cost_the_same_queries(world, as_user) -> None:
    client = as_user(world.alice)
    queued_ticket(world.device_a)
    with_select = _queries(client)
    _chain(world, 3 * MAX)
    assert _queries(client) == with_select
    assert _queries(client, {"terminal": "front counter"}) == with_select


def test_a_row_shows_status_kind_and_filing_time_in_the_reader_s_language_and_zone(
    world, as_user
) -> None:
    ticket = queued_ticket(world.device_a)
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC), category="network", symptom="wifi"
    )
    response = as_user(world.alice).get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    # Asia/Shanghai, the portal's time zone: the next morning.
    assert '<time datetime="2026-03-02T07:30:00+08:00">2026-03-02 07:30</time>' in response.text
    assert '<span class="badge text-bg-info">排队中</span>' in response.text
    assert "网络" in response.text  # the kind of fault, translated
    assert (
        f'<a href="/tickets/{ticket.reference}/" class="nowrap-id">{ticket.reference}</a>'
        in response.text
    )
