"""The merchant's home: open tickets first with their next step in words, terminals below,
and "Report a fault" always in reach on a phone."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import World
from tests.factories import DeviceFactory, TicketFactory, queued_ticket
from tickets import workflow
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _steps(html: str) -> list[str]:
    return re.findall(r'data-step="([a-z_]+)"', html)


def test_each_open_ticket_says_what_happens_next_and_the_shops_turn_comes_first(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    waiting_tech = queued_ticket(world.device_a, reporter=world.alice)
    question = queued_ticket(world.device_a, reporter=world.alice)
    workflow.ask(question, world.xavier, "Which error code?")
    quote = queued_ticket(world.device_a, reporter=world.alice, billable=True)
    workflow.send_quote(quote, world.xavier, Decimal("80"), "Keypad")
    resolved = queued_ticket(world.device_a, reporter=world.alice)
    workflow.resolve(resolved, world.xavier, Ticket.Resolution.REMOTE_FIX, "Re-keyed")
    closed = queued_ticket(world.device_a, reporter=world.alice, status=Ticket.Status.CLOSED)
    page = as_user(world.alice).get("/").text
    steps = _steps(page)
    assert sorted(steps[:3]) == ["confirm", "question", "quote"]
    assert steps[3:] == ["waiting"]
    assert "A quote to decide" in page
    assert "A question for you" in page
    assert "Resolved: please confirm" in page
    assert waiting_tech.reference in page
    assert closed.reference not in page
    assert world.device_a.serial_number in page


def test_another_shops_tickets_and_terminals_are_not_shown(world: World, as_user) -> None:  # noqa: ANN001
    theirs = queued_ticket(world.device_b, reporter=world.bob)
    page = as_user(world.alice).get("/").text
    assert theirs.reference not in page
    assert world.device_b.serial_number not in page


def test_report_a_fault_is_a_button_outside_the_folded_menu(world: World, as_user) -> None:  # noqa: ANN001
    page = as_user(world.alice).get("/").text
    assert 'class="btn btn-danger btn-lg shadow report-fab d-md-none"' in page
    assert 'href="#main"' in page  # the skip link


def test_the_home_page_queries_do_not_grow_with_tickets(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.get("/")

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        return len(queries)

    queued_ticket(world.device_a, reporter=world.alice, billable=True)
    few = count()
    for _ in range(5):
        device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
        TicketFactory(device=device, reporter=world.alice)
        quote = queued_ticket(device, reporter=world.alice, billable=True)
        workflow.send_quote(quote, world.xavier, Decimal("50"), "Part")
    assert count() == few
