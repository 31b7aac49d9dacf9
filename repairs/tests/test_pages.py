"""The repair block on both ticket pages: what the technician may do, what the shop
sees next."""

from __future__ import annotations

from django.urls import reverse

from repairs.tests.helpers import slot_post, warranty_ticket
from repairs.tests.test_start import SEND_IN
from tests.factories import queued_ticket
from tickets.models import Ticket


def _work_page(client, ticket) -> str:  # noqa: ANN001
    return client.get(reverse("tickets:work_ticket", args=[ticket.reference])).text


def test_the_technician_chooses_how_once_the_repair_is_decided(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    page = _work_page(as_user(world.xavier), ticket)
    for method in ("visit", "send_in", "swap"):
        assert reverse(f"repairs:work_start_{method}", args=[ticket.reference]) in page


def test_the_technician_is_told_why_not_yet(world, as_user) -> None:  # noqa: ANN001
    # Billable, in progress, no quote yet.
    ticket = queued_ticket(
        world.device_a, kind="paid_repair", status=Ticket.Status.IN_PROGRESS, billable=True
    )
    page = _work_page(as_user(world.xavier), ticket)
    assert 'id="repair-refusal"' in page
    assert "the merchant must accept a quote before repair work" in page
    assert reverse("repairs:work_start_send_in", args=[ticket.reference]) not in page


def test_the_technician_sees_the_next_step_only(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    client = as_user(world.xavier)
    client.post(reverse("repairs:work_start_send_in", args=[ticket.reference]), SEND_IN)
    page = _work_page(client, ticket)
    assert reverse("repairs:work_received", args=[ticket.reference]) in page
    assert reverse("repairs:work_repaired", args=[ticket.reference]) not in page
    assert reverse("repairs:work_start_swap", args=[ticket.reference]) not in page


def test_the_shop_sees_where_to_send_the_terminal(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    as_user(world.xavier).post(
        reverse("repairs:work_start_send_in", args=[ticket.reference]), SEND_IN
    )
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert (
        "Send the terminal to Lakala repair centre, 88 Zhangjiang Rd, Shanghai by SF Express, "
        "tracking number SF1234567890."
    ) in page
    # Nothing for the shop to press until the terminal comes back.
    assert reverse("repairs:delivered", args=[ticket.reference]) not in page


def test_the_shop_sees_the_visit_day_and_its_choices(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    as_user(world.xavier).post(
        reverse("repairs:work_start_visit", args=[ticket.reference]), slot_post("visit")
    )
    page = as_user(world.alice).get(ticket.get_absolute_url()).text
    assert "10:00–12:00: confirm, or propose another time." in page
    assert reverse("repairs:confirm", args=[ticket.reference]) in page
    assert reverse("repairs:counter", args=[ticket.reference]) in page


def test_a_ticket_without_logistics_shows_no_block_to_the_shop(world, as_user) -> None:  # noqa: ANN001
    ticket = warranty_ticket(world)
    assert 'id="repair"' not in as_user(world.alice).get(ticket.get_absolute_url()).text
