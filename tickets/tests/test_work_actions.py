"""The technician's action views: each POST-only, each refusal a message, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from conftest import World
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import Queue, Quote, Ticket, TicketEvent

S = Ticket.Status
K = TicketEvent.Kind

ACTION_URLS = [
    "work_claim",
    "work_assign",
    "work_reply",
    "work_note",
    "work_ask",
    "work_quote",
    "work_transfer",
    "work_loaner_issue",
    "work_loaner_return",
    "work_resolve",
]


def action_url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:{name}", args=[ticket.reference])


def page_url(ticket: Ticket) -> str:
    return reverse("tickets:work_ticket", args=[ticket.reference])


def said(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in get_messages(response.wsgi_request)]


def fresh(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def ticket(world: World) -> Ticket:
    return queued_ticket(world.device_a, reporter=world.alice)


@pytest.mark.parametrize("name", ACTION_URLS)
def test_actions_answer_405_to_get(world: World, as_user, ticket: Ticket, name: str) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(action_url(name, ticket)).status_code == 405


def test_claim_takes_the_ticket(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(action_url("work_claim", ticket))
    assert response.status_code == 302
    assert response.url == page_url(ticket)
    assert fresh(ticket).assigned_to == world.xavier
    assert fresh(ticket).status == S.IN_PROGRESS


def test_a_late_claim_is_told_who_has_the_ticket(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    workflow.claim(ticket, world.xavier)
    response = as_user(world.xena).post(action_url("work_claim", ticket), follow=True)
    assert response.status_code == 200
    assert b"xavier has already claimed this ticket." in response.content
    assert fresh(ticket).assigned_to == world.xavier


def test_assign_to_a_colleague(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    as_user(world.xavier).post(
        action_url("work_assign", ticket), {"assign-assignee": world.xena.pk}
    )
    assert fresh(ticket).assigned_to == world.xena


def test_assign_refuses_a_crafted_outsider_at_the_field(
    world: World,
    as_user,  # noqa: ANN001
    ticket: Ticket,
) -> None:
    response = as_user(world.xavier).post(
        action_url("work_assign", ticket), {"assign-assignee": world.yuri.pk}
    )
    assert response.status_code == 200
    assert response.context["forms"]["assign"].errors["assignee"]
    assert fresh(ticket).assigned_to is None


def test_reply_is_public_and_note_is_internal(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    client.post(action_url("work_reply", ticket), {"reply-body": "Restart, please"})
    client.post(action_url("work_note", ticket), {"note-body": "Known firmware bug"})
    events = {e.kind: e for e in ticket.events.all()}
    assert events[K.REPLY].public
    assert events[K.REPLY].actor == world.xavier
    assert not events[K.NOTE].public
    assert events[K.NOTE].body == "Known firmware bug"


def test_an_empty_reply_is_shown_again_with_the_error(
    world: World, as_user, ticket: Ticket
) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(action_url("work_reply", ticket), {"reply-body": " "})
    assert response.status_code == 200
    assert response.context["forms"]["reply"].errors["body"]
    assert b"<details" in response.content
    assert not ticket.events.exists()


def test_ask_waits_on_the_merchant(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    as_user(world.xavier).post(action_url("work_ask", ticket), {"ask-body": "Error code?"})
    ticket = fresh(ticket)
    assert ticket.status == S.WAITING_MERCHANT
    assert ticket.sla_paused_at is not None


def test_a_quote_is_sent_on_a_billable_ticket(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, billable=True)
    as_user(world.xavier).post(
        action_url("work_quote", ticket), {"quote-amount": "350.50", "quote-covers": "New screen"}
    )
    quote = Quote.objects.get(ticket=ticket)
    assert (quote.amount, quote.covers, quote.status) == (
        Decimal("350.50"),
        "New screen",
        Quote.Status.PENDING,
    )
    assert fresh(ticket).status == S.WAITING_MERCHANT


@pytest.mark.parametrize("amount", ["0", "-10", "abc", ""])
def test_a_bad_amount_is_refused_at_the_field_keeping_the_text(
    world: World,
    as_user,  # noqa: ANN001
    amount: str,
) -> None:
    ticket = queued_ticket(world.device_a, billable=True)
    response = as_user(world.xavier).post(
        action_url("work_quote", ticket),
        {"quote-amount": amount, "quote-covers": "Keypad membrane and labour"},
    )
    assert response.status_code == 200
    assert response.context["forms"]["quote"].errors["amount"]
    assert b"Keypad membrane and labour" in response.content
    assert not Quote.objects.exists()


def test_a_crafted_quote_on_a_free_repair_is_refused_with_a_message(
    world: World,
    as_user,  # noqa: ANN001
    ticket: Ticket,
) -> None:
    response = as_user(world.xavier).post(
        action_url("work_quote", ticket), {"quote-amount": "10", "quote-covers": "x"}
    )
    assert response.status_code == 302
    assert said(response) == ["This repair is not billable: no quote is needed."]
    assert not Quote.objects.exists()


def test_transfer_within_the_provider_stays_on_the_ticket(
    world: World,
    as_user,  # noqa: ANN001
    ticket: Ticket,
) -> None:
    target = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)
    response = as_user(world.xavier).post(
        action_url("work_transfer", ticket),
        {"transfer-queue": target.pk, "transfer-reason": "A software fault"},
    )
    assert response.url == page_url(ticket)
    assert fresh(ticket).queue == target


def test_transfer_to_another_provider_sends_the_technician_home(
    world: World,
    as_user,  # noqa: ANN001
    ticket: Ticket,
) -> None:
    # X services the terminal, Y acquires its payments: a payment dispute goes to Y.
    world.device_a.acquirer = world.provider_y
    world.device_a.save()
    target = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.TRANSACTION_SUPPORT)
    client = as_user(world.xavier)
    response = client.post(
        action_url("work_transfer", ticket),
        {"transfer-queue": target.pk, "transfer-reason": "Acquired by Y"},
    )
    assert response.status_code == 302
    assert response.url == reverse("tickets:work")
    assert any("no longer in your queues" in m for m in said(response))
    assert fresh(ticket).queue == target
    assert client.get(page_url(ticket)).status_code == 404
    assert as_user(world.yuri).get(page_url(ticket)).status_code == 200


def test_transfer_needs_a_reason(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    target = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)
    response = as_user(world.xavier).post(
        action_url("work_transfer", ticket), {"transfer-queue": target.pk, "transfer-reason": ""}
    )
    assert response.status_code == 200
    assert response.context["forms"]["transfer"].errors["reason"]
    assert fresh(ticket).queue != target


def test_loaner_issued_and_returned(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    client.post(action_url("work_loaner_issue", ticket), {"loaner-serial": "ln-5"})
    assert fresh(ticket).loaner_serial == "LN-5"
    assert b"LN-5" in client.get(page_url(ticket)).content
    client.post(action_url("work_loaner_return", ticket))
    assert fresh(ticket).loaner_returned_at is not None


def test_resolve_with_a_code_and_a_note(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    as_user(world.xavier).post(
        action_url("work_resolve", ticket),
        {"resolve-code": Ticket.Resolution.REMOTE_FIX, "resolve-note": "Re-downloaded keys"},
    )
    ticket = fresh(ticket)
    assert (ticket.status, ticket.resolution_code, ticket.resolution_note) == (
        S.RESOLVED,
        Ticket.Resolution.REMOTE_FIX,
        "Re-downloaded keys",
    )


def test_resolve_needs_a_code_and_a_note(world: World, as_user, ticket: Ticket) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(
        action_url("work_resolve", ticket), {"resolve-code": "", "resolve-note": ""}
    )
    errors = response.context["forms"]["resolve"].errors
    assert set(errors) == {"code", "note"}
    assert fresh(ticket).status == S.QUEUED


def test_the_quote_gate_refuses_repair_with_a_message(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, billable=True)
    response = as_user(world.xavier).post(
        action_url("work_resolve", ticket),
        {"resolve-code": Ticket.Resolution.REPLACED, "resolve-note": "New unit"},
        follow=True,
    )
    assert response.status_code == 200
    assert b"must accept a quote before repair work" in response.content
    assert fresh(ticket).status == S.QUEUED


def test_an_action_the_state_forbids_is_a_message_not_an_error(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    closed = queued_ticket(world.device_a, status=S.CLOSED)
    client = as_user(world.xavier)
    response = client.post(
        action_url("work_resolve", closed),
        {"resolve-code": Ticket.Resolution.REMOTE_FIX, "resolve-note": "again"},
    )
    assert response.status_code == 302
    assert said(response) == ["“Resolve” is not possible while the ticket is closed."]
    for name, data in [
        ("work_claim", {}),
        ("work_reply", {"reply-body": "hi"}),
        ("work_ask", {"ask-body": "hi"}),
        ("work_loaner_return", {}),
    ]:
        response = client.post(action_url(name, closed), data)
        assert response.status_code == 302, name
        assert said(response), name
    assert fresh(closed).status == S.CLOSED


def test_a_bad_form_for_an_action_not_possible_now_says_why(world: World, as_user) -> None:  # noqa: ANN001
    closed = queued_ticket(world.device_a, status=S.CLOSED)
    response = as_user(world.xavier).post(action_url("work_reply", closed), {"reply-body": ""})
    assert response.status_code == 302
    assert said(response) == ["“Reply” is not possible while the ticket is closed."]


def test_a_crafted_quote_form_on_a_free_repair_says_why(world: World, as_user, ticket) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(action_url("work_quote", ticket), {"quote-amount": "0"})
    assert response.status_code == 302
    assert said(response) == ["That is not possible on this ticket now."]
