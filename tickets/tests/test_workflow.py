"""The workflow's rules beyond the table: preconditions, the quote gate, the SLA clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import World
from tests.factories import UserFactory, member_of, queued_ticket
from tickets import workflow
from tickets.models import Queue, Quote, Ticket, TicketEvent
from tickets.workflow import NotAllowed

S = Ticket.Status
R = Ticket.Resolution


class Clock:
    """A controlled `timezone.now()`: the workflow reads the time only through it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


def ticket_of(world: World, **kwargs: object) -> Ticket:
    return queued_ticket(world.device_a, reporter=world.alice, **kwargs)


def refresh(ticket: Ticket) -> Ticket:
    ticket.refresh_from_db()
    return ticket


# Claim and assign ---------------------------------------------------------------------


def test_claim_takes_a_queued_ticket_and_counts_as_first_response(world: World) -> None:
    ticket = ticket_of(world)
    workflow.claim(ticket, world.xavier)
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.IN_PROGRESS, world.xavier)
    assert ticket.first_responded_at is not None


def test_a_second_claim_is_told_who_has_the_ticket(world: World) -> None:
    world.xavier.first_name, world.xavier.last_name = "Xavier", "Xu"
    world.xavier.save()
    ticket = ticket_of(world)
    workflow.claim(ticket, world.xavier)
    with pytest.raises(NotAllowed, match="Xavier Xu has already claimed this ticket"):
        workflow.claim(ticket, world.xena)
    with pytest.raises(NotAllowed, match="You already have this ticket"):
        workflow.claim(ticket, world.xavier)


def test_claim_is_not_offered_once_someone_has_the_ticket(world: World) -> None:
    ticket = ticket_of(world, assigned_to=world.xena)
    assert "claim" not in workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    assert "assign" in workflow.allowed_actions(ticket, workflow.TECHNICIAN)


def test_assign_hands_the_ticket_to_a_colleague(world: World) -> None:
    ticket = ticket_of(world)
    workflow.assign(ticket, world.xavier, world.xena)
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.IN_PROGRESS, world.xena)
    event = ticket.events.get(kind=TicketEvent.Kind.ASSIGNED)
    assert event.data["assignee"] == world.xena.pk
    assert not event.public


@pytest.mark.parametrize("who", ["yuri", "alice", "admin"])
def test_assign_refuses_anyone_outside_the_provider(world: World, who: str) -> None:
    ticket = ticket_of(world)
    with pytest.raises(NotAllowed, match="colleague of the same provider"):
        workflow.assign(ticket, world.xavier, getattr(world, who))
    assert refresh(ticket).assigned_to is None


def test_assign_refuses_a_colleague_whose_account_is_disabled(world: World) -> None:
    gone = member_of(UserFactory(username="gone", is_active=False), provider=world.provider_x)
    with pytest.raises(NotAllowed):
        workflow.assign(ticket_of(world), world.xavier, gone)


def test_assign_refuses_the_person_who_already_has_it(world: World) -> None:
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xena)
    with pytest.raises(NotAllowed, match="xena already has this ticket"):
        workflow.assign(ticket, world.xavier, world.xena)


# Texts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda t, w: workflow.reply(t, w.xavier, "  "),
        lambda t, w: workflow.note(t, w.xavier, ""),
        lambda t, w: workflow.ask(t, w.xavier, "\n"),
        lambda t, w: workflow.transfer(
            t, w.xavier, Queue.objects.get(provider=w.provider_y, kind="paid_repair"), " "
        ),
        lambda t, w: workflow.issue_loaner(t, w.xavier, " "),
        lambda t, w: workflow.merchant_reply(t, w.alice, ""),
        lambda t, w: workflow.cancel(t, w.alice, " "),
    ],
    ids=["reply", "note", "ask", "transfer", "loaner", "merchant_reply", "cancel"],
)
def test_an_empty_text_is_refused_with_a_message(world: World, call) -> None:  # noqa: ANN001
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    with pytest.raises(NotAllowed) as refused:
        call(ticket, world)
    assert str(refused.value)
    assert refresh(ticket).status == S.IN_PROGRESS
    assert not ticket.events.exists()


def test_a_reply_keeps_the_ticket_where_it_is_and_is_public(world: World) -> None:
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    event = workflow.reply(ticket, world.xavier, "  Try the other cable.  ")
    assert (event.body, event.public) == ("Try the other cable.", True)
    assert refresh(ticket).status == S.IN_PROGRESS


def test_a_note_is_internal_even_on_a_closed_ticket(world: World) -> None:
    ticket = ticket_of(world, status=S.CLOSED)
    event = workflow.note(ticket, world.xavier, "Merchant called, happy.")
    assert not event.public
    assert refresh(ticket).status == S.CLOSED


# Asking and the merchant's answer -------------------------------------------------------


def test_asking_waits_on_the_merchant_and_their_reply_gives_it_back(world: World) -> None:
    ticket = ticket_of(world)
    workflow.ask(ticket, world.xavier, "Which error code?")
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.WAITING_MERCHANT, world.xavier)
    workflow.merchant_reply(ticket, world.alice, "Error 11.")
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.IN_PROGRESS, world.xavier)


# Quotes and the quote gate -----------------------------------------------------------------


def test_a_quote_is_refused_on_a_ticket_that_is_not_billable(world: World) -> None:
    with pytest.raises(NotAllowed, match="not billable"):
        workflow.send_quote(ticket_of(world), world.xavier, Decimal("100"), "Screen")
    assert not Quote.objects.exists()


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5")])
def test_a_quote_must_cost_something(world: World, amount: Decimal) -> None:
    ticket = ticket_of(world, billable=True)
    with pytest.raises(NotAllowed, match="more than zero"):
        workflow.send_quote(ticket, world.xavier, amount, "Screen")


def test_a_quote_must_say_what_it_covers(world: World) -> None:
    ticket = ticket_of(world, billable=True)
    with pytest.raises(NotAllowed, match="covers"):
        workflow.send_quote(ticket, world.xavier, Decimal("10"), " ")


def test_a_quote_waits_on_the_merchant_and_only_one_is_pending(world: World) -> None:
    ticket = ticket_of(world, billable=True)
    quote = workflow.send_quote(ticket, world.xavier, Decimal("250.00"), "Card reader")
    ticket = refresh(ticket)
    assert ticket.status == S.WAITING_MERCHANT
    assert quote.status == Quote.Status.PENDING
    # A merchant's message does not answer the quote: the ticket keeps waiting.
    workflow.merchant_reply(ticket, world.alice, "How long will it take?")
    assert refresh(ticket).status == S.WAITING_MERCHANT
    assert workflow.allowed_actions(ticket, workflow.MERCHANT) >= {"quote_accept", "quote_decline"}


def test_accept_and_decline_are_offered_only_with_a_quote_pending(world: World) -> None:
    ticket = ticket_of(world, billable=True)
    workflow.ask(ticket, world.xavier, "Is it under a counter?")
    ticket = refresh(ticket)
    offered = workflow.allowed_actions(ticket, workflow.MERCHANT)
    assert not offered & {"quote_accept", "quote_decline"}
    with pytest.raises(NotAllowed, match="no quote waiting"):
        workflow.accept_quote(ticket, world.alice)


@pytest.mark.parametrize("code", sorted(workflow.REPAIR_RESOLUTIONS))
def test_repair_is_refused_on_a_billable_ticket_until_a_quote_is_accepted(
    world: World, code: str
) -> None:
    ticket = ticket_of(world, billable=True, status=S.IN_PROGRESS, assigned_to=world.xavier)
    with pytest.raises(NotAllowed, match="must accept a quote"):
        workflow.resolve(ticket, world.xavier, code, "Fixed")
    workflow.send_quote(ticket, world.xavier, Decimal("300"), "Screen and labour")
    workflow.accept_quote(ticket, world.alice)
    ticket = refresh(ticket)
    assert ticket.status == S.IN_PROGRESS
    workflow.resolve(ticket, world.xavier, code, "Fixed")
    assert refresh(ticket).status == S.RESOLVED


def test_a_declined_quote_keeps_the_gate_shut_but_allows_not_covered(world: World) -> None:
    ticket = ticket_of(world, billable=True, status=S.IN_PROGRESS, assigned_to=world.xavier)
    workflow.send_quote(ticket, world.xavier, Decimal("300"), "Screen")
    workflow.decline_quote(ticket, world.alice)
    with pytest.raises(NotAllowed, match="must accept a quote"):
        workflow.resolve(ticket, world.xavier, R.REPLACED, "Swapped")
    workflow.resolve(ticket, world.xavier, R.NOT_COVERED, "Merchant declined the repair")
    ticket = refresh(ticket)
    assert (ticket.status, ticket.resolution_code) == (S.RESOLVED, R.NOT_COVERED)


def test_a_remote_fix_needs_no_quote_even_on_a_billable_ticket(world: World) -> None:
    ticket = ticket_of(world, billable=True)
    workflow.resolve(ticket, world.xavier, R.REMOTE_FIX, "Reset parameters")
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.RESOLVED, world.xavier)


def test_resolve_refuses_an_unknown_resolution_code(world: World) -> None:
    with pytest.raises(NotAllowed, match="how the fault was resolved"):
        workflow.resolve(ticket_of(world), world.xavier, "magic", "")


def test_a_closed_ticket_cannot_be_resolved(world: World) -> None:
    with pytest.raises(NotAllowed, match="not possible while the ticket is closed"):
        workflow.resolve(ticket_of(world, status=S.CLOSED), world.xavier, R.REMOTE_FIX, "")


def test_a_merchant_cannot_post_an_internal_note(world: World) -> None:
    with pytest.raises(NotAllowed, match="You cannot do"):
        workflow.note(ticket_of(world), world.alice, "Hidden?")


# Transfer ---------------------------------------------------------------------------------


def test_transfer_to_another_provider_moves_the_ticket_out_of_reach(world: World) -> None:
    world.device_a.acquirer = world.provider_y  # Y acquires the terminal's payments
    world.device_a.save()
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    target = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.TRANSACTION_SUPPORT)
    workflow.transfer(ticket, world.xavier, target, "The payment went through the acquirer Y")
    ticket = refresh(ticket)
    assert (ticket.queue, ticket.status, ticket.assigned_to) == (target, S.QUEUED, None)
    assert workflow.role_for(ticket, world.xavier) is None
    assert workflow.role_for(ticket, world.yuri) == workflow.TECHNICIAN
    event = ticket.events.get(kind=TicketEvent.Kind.TRANSFERRED)
    assert event.body == "The payment went through the acquirer Y"
    assert event.data["to_queue"] == target.pk


def test_transfer_restarts_the_sla_from_the_new_queues_targets(world: World, clock: Clock) -> None:
    ticket = ticket_of(world, now=clock.now, first_response_breached_at=clock.now)
    clock.advance(hours=3)
    target = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)
    workflow.transfer(ticket, world.xavier, target, "Software, not hardware")
    ticket = refresh(ticket)
    assert ticket.resolution_due == clock.now + timedelta(minutes=target.resolution_p1)
    assert ticket.first_response_breached_at is None


def test_transfer_refuses_the_same_queue_and_an_inactive_one(world: World) -> None:
    ticket = ticket_of(world)
    with pytest.raises(NotAllowed, match="already in that queue"):
        workflow.transfer(ticket, world.xavier, ticket.queue, "Why not")
    closed = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.PAID_REPAIR)
    closed.active = False
    closed.save()
    with pytest.raises(NotAllowed, match="not active"):
        workflow.transfer(ticket, world.xavier, closed, "Why not")


def test_transfer_waits_for_the_merchants_answer_to_a_pending_quote(world: World) -> None:
    ticket = ticket_of(world, billable=True)
    workflow.send_quote(ticket, world.xavier, Decimal("80"), "Printer")
    ticket = refresh(ticket)
    assert "transfer" not in workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    other = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.TRIAGE)
    with pytest.raises(NotAllowed, match="quote is waiting"):
        workflow.transfer(ticket, world.xavier, other, "Wrong queue")


def test_transfer_to_the_platform_queue_flags_the_ticket_for_an_admin(world: World) -> None:
    platform, _ = Queue.objects.get_or_create(
        provider=None, kind=Queue.Kind.TRIAGE, defaults={"name": "Platform triage"}
    )
    ticket = ticket_of(world)
    workflow.transfer(ticket, world.xavier, platform, "Not our terminal at all")
    assert refresh(ticket).needs_admin


# Loaner ------------------------------------------------------------------------------------


def test_a_loaner_is_issued_once_and_returned_once(world: World) -> None:
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    workflow.issue_loaner(ticket, world.xavier, " ln-77 ")
    ticket = refresh(ticket)
    assert ticket.loaner_serial == "LN-77"
    assert "loaner_issue" not in workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    with pytest.raises(NotAllowed, match="already out"):
        workflow.issue_loaner(ticket, world.xavier, "LN-78")
    workflow.return_loaner(ticket, world.xavier)
    ticket = refresh(ticket)
    assert ticket.loaner_returned_at is not None
    with pytest.raises(NotAllowed, match="No loaner is out"):
        workflow.return_loaner(ticket, world.xavier)


def test_a_loaner_comes_back_even_after_the_merchant_cancels(world: World) -> None:
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xavier)
    workflow.issue_loaner(ticket, world.xavier, "LN-1")
    workflow.cancel(ticket, world.alice, "Found a spare")
    ticket = refresh(ticket)
    assert "loaner_return" in workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    workflow.return_loaner(ticket, world.xavier)


# The end --------------------------------------------------------------------------------------


def test_reopen_goes_back_to_the_same_technician(world: World) -> None:
    ticket = ticket_of(world, status=S.IN_PROGRESS, assigned_to=world.xena)
    workflow.resolve(ticket, world.xena, R.REMOTE_FIX, "Reset")
    workflow.reopen(ticket, world.alice, "Dark again")
    ticket = refresh(ticket)
    assert (ticket.status, ticket.assigned_to) == (S.IN_PROGRESS, world.xena)
    assert (ticket.resolution_code, ticket.resolved_at) == ("", None)


def test_auto_close_says_why_in_the_timeline(world: World) -> None:
    ticket = ticket_of(world, status=S.RESOLVED)
    workflow.auto_close(ticket, 7)
    ticket = refresh(ticket)
    assert ticket.status == S.CLOSED
    assert ticket.closed_at is not None
    event = ticket.events.get(kind=TicketEvent.Kind.CLOSED)
    assert event.actor is None
    assert event.public
    assert "7 days" in event.text


def test_rating_is_once_and_from_one_to_five(world: World) -> None:
    ticket = ticket_of(world, status=S.CLOSED)
    with pytest.raises(NotAllowed, match="1 to 5"):
        workflow.rate(ticket, world.alice, 6, "")
    workflow.rate(ticket, world.alice, 4, "Good")
    with pytest.raises(NotAllowed, match="already rated"):
        workflow.rate(ticket, world.alice, 5, "")
    assert "rate" not in workflow.allowed_actions(refresh(ticket), workflow.MERCHANT)


# The SLA clock --------------------------------------------------------------------------------


def test_the_sla_clock_stops_while_waiting_on_the_merchant(world: World, clock: Clock) -> None:
    ticket = ticket_of(world, now=clock.now)
    first_due, resolution_due = ticket.first_response_due, ticket.resolution_due
    clock.advance(minutes=10)
    workflow.ask(ticket, world.xavier, "Which error code?")
    ticket = refresh(ticket)
    assert ticket.sla_paused_at == clock.now
    assert ticket.first_responded_at == clock.now
    clock.advance(hours=5)
    workflow.merchant_reply(ticket, world.alice, "Error 11")
    ticket = refresh(ticket)
    assert ticket.sla_paused_at is None
    assert ticket.resolution_due == resolution_due + timedelta(hours=5)
    # Already answered in time: the first-response due time is history, not moved.
    assert ticket.first_response_due == first_due


def test_the_clock_also_stops_while_a_quote_is_pending(world: World, clock: Clock) -> None:
    ticket = ticket_of(world, now=clock.now, billable=True)
    resolution_due = ticket.resolution_due
    workflow.send_quote(ticket, world.xavier, Decimal("120"), "Keypad")
    clock.advance(days=2)
    workflow.accept_quote(ticket, world.alice)
    ticket = refresh(ticket)
    assert ticket.sla_paused_at is None
    assert ticket.resolution_due == resolution_due + timedelta(days=2)


def test_a_merchant_cancelling_while_paused_ends_the_pause(world: World, clock: Clock) -> None:
    ticket = ticket_of(world, now=clock.now)
    workflow.ask(ticket, world.xavier, "Still broken?")
    clock.advance(hours=1)
    workflow.cancel(ticket, world.alice, "A restart fixed it")
    assert refresh(ticket).sla_paused_at is None
