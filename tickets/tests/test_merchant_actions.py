"""The merchant's actions on a ticket: POST-only, scoped, refusals shown as messages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import TicketFactory, queued_ticket
from tickets import workflow
from tickets.models import Quote, Ticket, TicketEvent
from tickets.tests.filing_helpers import CARD, exe, png

pytestmark = pytest.mark.django_db

ACTIONS = ["reply", "cancel", "quote_accept", "quote_decline", "confirm", "reopen", "rate"]


def _url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:{name}", args=[ticket.reference])


def _messages(response) -> list[str]:  # noqa: ANN001
    return [str(message) for message in response.context["messages"]]


def _resolved(world) -> Ticket:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    workflow.claim(ticket, world.xavier)
    return workflow.resolve(ticket, world.xavier, Ticket.Resolution.REMOTE_FIX, "Reset it")


def _quoted(world) -> Ticket:  # noqa: ANN001
    ticket = queued_ticket(world.device_a, kind="paid_repair", billable=True)
    workflow.send_quote(ticket, world.xavier, Decimal("350"), "New display")
    return ticket


# Reply --------------------------------------------------------------------------------------


def test_the_merchant_replies_with_an_attachment(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(
        _url("reply", ticket), {"body": "Here is the photo.", "attachments": [png()]}
    )
    assert response.status_code == 302
    assert response.url == ticket.get_absolute_url()
    event = ticket.events.get(kind=TicketEvent.Kind.MERCHANT_REPLY)
    assert event.body == "Here is the photo."
    assert event.actor == world.alice
    assert [a.original_name for a in event.attachments.all()] == ["screen.png"]


def test_a_reply_answers_a_question(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    workflow.ask(ticket, world.xavier, "Which error code?")
    as_user(world.alice).post(_url("reply", ticket), {"body": "Error 11"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS


def test_an_empty_reply_is_refused_with_the_form(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(_url("reply", ticket), {"body": ""})
    assert response.status_code == 400
    assert response.context["reply_form"].errors["body"]
    assert not ticket.events.filter(kind=TicketEvent.Kind.MERCHANT_REPLY).exists()


def test_a_reply_with_a_card_number_is_refused_and_kept(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(
        _url("reply", ticket), {"body": f"Card {CARD} was charged"}
    )
    assert response.status_code == 400
    assert "PCI DSS" in str(response.context["reply_form"].errors["body"])
    assert "was charged" in response.text


def test_a_reply_with_an_exe_is_refused_and_the_text_kept(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(
        _url("reply", ticket), {"body": "See the tool", "attachments": [exe()]}
    )
    assert response.status_code == 400
    assert response.context["reply_form"].errors["attachments"]
    assert "See the tool" in response.text


def test_a_reply_on_a_closed_ticket_is_refused_with_a_message(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    response = as_user(world.alice).post(_url("reply", ticket), {"body": "Hello?"})
    assert response.status_code == 200
    assert any("not possible while the ticket is closed" in m for m in _messages(response))
    assert "Hello?" in response.text


# Cancel -------------------------------------------------------------------------------------


def test_the_merchant_cancels_with_a_reason(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(_url("cancel", ticket), {"reason": "restart"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED
    # The reason's code is kept and worded when read: nothing typed, no sentence stored.
    event = ticket.events.get(kind=TicketEvent.Kind.CANCELLED)
    assert (ticket.cancel_reason, event.body, event.data) == ("", "", {"reason": "restart"})
    assert event.text == "A restart fixed it"
    with translation.override("zh-hans"):
        assert "A restart" not in event.text


def test_a_new_ticket_can_be_cancelled_before_routing(world, as_user) -> None:
    ticket = TicketFactory(device=world.device_a)
    as_user(world.alice).post(_url("cancel", ticket), {"reason": "mistake"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED


def test_cancel_other_needs_a_text(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    client = as_user(world.alice)
    response = client.post(_url("cancel", ticket), {"reason": "other", "other": ""})
    assert response.status_code == 400
    assert response.context["cancel_form"].errors["other"]
    client.post(_url("cancel", ticket), {"reason": "other", "other": "Bought a new one"})
    ticket.refresh_from_db()
    assert ticket.cancel_reason == "Bought a new one"


def test_cancelling_a_resolved_ticket_is_refused_with_a_message(world, as_user) -> None:
    ticket = _resolved(world)
    response = as_user(world.alice).post(_url("cancel", ticket), {"reason": "restart"}, follow=True)
    assert response.status_code == 200
    assert any("not possible" in m for m in _messages(response))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


# Quote --------------------------------------------------------------------------------------


def test_the_merchant_accepts_a_quote(world, as_user) -> None:
    ticket = _quoted(world)
    response = as_user(world.alice).post(_url("quote_accept", ticket))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert ticket.quotes.get().status == Quote.Status.ACCEPTED
    assert ticket.events.filter(kind=TicketEvent.Kind.QUOTE_ACCEPTED).exists()


def test_the_merchant_declines_a_quote(world, as_user) -> None:
    ticket = _quoted(world)
    as_user(world.alice).post(_url("quote_decline", ticket))
    assert ticket.quotes.get().status == Quote.Status.DECLINED


def test_accepting_without_a_quote_is_refused_with_a_message(world, as_user) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.WAITING_MERCHANT)
    response = as_user(world.alice).post(_url("quote_accept", ticket), follow=True)
    assert response.status_code == 200
    assert any("no quote waiting" in m for m in _messages(response))


# Confirm, reopen, rate ------------------------------------------------------------------------


def test_the_merchant_confirms_the_fix(world, as_user) -> None:
    ticket = _resolved(world)
    as_user(world.alice).post(_url("confirm", ticket))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.closed_at is not None


def test_the_merchant_reopens_with_a_reason(world, as_user) -> None:
    ticket = _resolved(world)
    as_user(world.alice).post(_url("reopen", ticket), {"reason": "Screen dark again"})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS
    assert ticket.assigned_to == world.xavier
    assert ticket.events.get(kind=TicketEvent.Kind.REOPENED).body == "Screen dark again"


def test_reopen_needs_a_reason(world, as_user) -> None:
    ticket = _resolved(world)
    response = as_user(world.alice).post(_url("reopen", ticket), {"reason": ""})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED


def test_confirming_an_open_ticket_is_refused_with_a_message(world, as_user) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).post(_url("confirm", ticket), follow=True)
    assert response.status_code == 200
    assert any("not possible while the ticket is queued" in m for m in _messages(response))


def test_the_merchant_rates_a_closed_ticket_once(world, as_user) -> None:
    ticket = _resolved(world)
    client = as_user(world.alice)
    client.post(_url("confirm", ticket))
    client.post(_url("rate", ticket), {"rating": "5", "comment": "Fast and friendly"})
    ticket.refresh_from_db()
    assert ticket.rating == 5
    assert ticket.rating_comment == "Fast and friendly"
    response = client.post(_url("rate", ticket), {"rating": "1"}, follow=True)
    assert any("already rated" in m for m in _messages(response))
    ticket.refresh_from_db()
    assert ticket.rating == 5


@pytest.mark.parametrize("rating", ["0", "6", "x", ""])
def test_a_rating_outside_1_to_5_is_refused(world, as_user, rating: str) -> None:
    ticket = queued_ticket(world.device_a, status=Ticket.Status.CLOSED)
    response = as_user(world.alice).post(_url("rate", ticket), {"rating": rating})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.rating is None


# Method and scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_refuse_get(world, as_user, name: str) -> None:
    ticket = queued_ticket(world.device_a)
    assert as_user(world.alice).get(_url(name, ticket)).status_code == 405


@pytest.mark.parametrize("name", ACTIONS)
def test_another_merchants_ticket_is_a_404_on_every_action(world, as_user, name: str) -> None:
    ticket = _quoted(world)
    data = {"body": "x", "reason": "restart", "rating": "5"}
    assert as_user(world.bob).post(_url(name, ticket), data).status_code == 404
    assert ticket.events.filter(actor=world.bob).count() == 0


@pytest.mark.parametrize("name", ACTIONS)
def test_a_technician_is_a_404_on_merchant_actions(world, as_user, name: str) -> None:
    ticket = _quoted(world)
    assert as_user(world.xavier).post(_url(name, ticket), {"body": "x"}).status_code == 404
