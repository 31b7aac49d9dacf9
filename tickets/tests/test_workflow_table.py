"""Every action of the state machine, for every role, from every status: allowed or refused.

The expectations are written out by hand here (not read from `workflow.ACTIONS`), so a
wrong row in the table, or a function that forgets to check it, fails a test.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import World
from devices.warranty import WarrantyCheck
from portal.models import User
from tests.factories import TicketFactory, queued_ticket
from tickets import workflow
from tickets.models import Queue, Quote, Ticket, TicketEvent

S = Ticket.Status
K = TicketEvent.Kind
OPEN = {S.QUEUED, S.IN_PROGRESS, S.WAITING_MERCHANT}
ROUTED = {*OPEN, S.RESOLVED, S.CLOSED, S.CANCELLED}

# action → (the one role that may take it, the statuses it may start from)
ALLOWED: dict[str, tuple[str, set[str]]] = {
    "claim": ("technician", OPEN),
    "assign": ("technician", OPEN),
    "reply": ("technician", OPEN),
    "note": ("technician", ROUTED),
    "ask": ("technician", {S.QUEUED, S.IN_PROGRESS}),
    "quote": ("technician", {S.QUEUED, S.IN_PROGRESS}),
    "transfer": ("technician", OPEN),
    "loaner_issue": ("technician", OPEN),
    "loaner_return": ("technician", ROUTED),
    "resolve": ("technician", {S.QUEUED, S.IN_PROGRESS}),
    "resolve_duplicate": ("technician", {S.QUEUED, S.IN_PROGRESS}),
    "merchant_reply": ("merchant", {S.NEW, *OPEN}),
    "quote_accept": ("merchant", {S.WAITING_MERCHANT}),
    "quote_decline": ("merchant", {S.WAITING_MERCHANT}),
    "confirm": ("merchant", {S.RESOLVED}),
    "reopen": ("merchant", {S.RESOLVED}),
    "cancel": ("merchant", {S.NEW, *OPEN}),
    "rate": ("merchant", {S.CLOSED}),
    "add_proof": ("merchant", {S.NEW, *OPEN}),
    "warranty_verify": ("technician", OPEN),
    "warranty_reject": ("technician", OPEN),
    "admin_assign": ("admin", OPEN),
    "admin_cancel": ("admin", {S.NEW, *OPEN}),
    "close_duplicate": ("admin", {S.NEW, *OPEN}),
    "auto_close": ("system", {S.RESOLVED}),
    "unassign_leaver": ("system", OPEN),
    "payments_back": ("merchant", {S.NEW, *OPEN}),
    "auto_assign": ("system", {S.QUEUED, S.IN_PROGRESS}),
}
# Taken on many tickets at once, never offered on one: tested in outages/tests.
BULK = {"incident_resolve"}

# action → the timeline entry it writes and whether the merchant sees it
EVENTS: dict[str, tuple[str, bool]] = {
    "claim": (K.CLAIMED, True),
    "assign": (K.ASSIGNED, False),
    "reply": (K.REPLY, True),
    "note": (K.NOTE, False),
    "ask": (K.QUESTION, True),
    "quote": (K.QUOTE_SENT, True),
    "transfer": (K.TRANSFERRED, True),
    "loaner_issue": (K.LOANER_ISSUED, True),
    "loaner_return": (K.LOANER_RETURNED, True),
    "resolve": (K.RESOLVED, True),
    "resolve_duplicate": (K.DUPLICATE, True),
    "merchant_reply": (K.MERCHANT_REPLY, True),
    "quote_accept": (K.QUOTE_ACCEPTED, True),
    "quote_decline": (K.QUOTE_DECLINED, True),
    "confirm": (K.CONFIRMED, True),
    "reopen": (K.REOPENED, True),
    "cancel": (K.CANCELLED, True),
    "rate": (K.RATED, True),
    "add_proof": (K.PROOF_ADDED, True),
    "warranty_verify": (K.WARRANTY_VERIFIED, True),
    "warranty_reject": (K.WARRANTY_REJECTED, True),
    "admin_assign": (K.ASSIGNED, False),
    "admin_cancel": (K.CANCELLED_BY_ADMIN, True),
    "close_duplicate": (K.DUPLICATE, True),
    "auto_close": (K.CLOSED, True),
    "unassign_leaver": (K.UNASSIGNED, False),
    "payments_back": (K.PAYMENTS_BACK, True),
    "auto_assign": (K.ASSIGNED, False),
}


def expected_status(action: str, before: str) -> str:
    """Where an allowed action leaves the ticket."""
    moves = {
        "ask": S.WAITING_MERCHANT,
        "quote": S.WAITING_MERCHANT,
        "transfer": S.QUEUED,
        "resolve": S.RESOLVED,
        "quote_accept": S.IN_PROGRESS,
        "quote_decline": S.IN_PROGRESS,
        "confirm": S.CLOSED,
        "reopen": S.IN_PROGRESS,
        "cancel": S.CANCELLED,
        "auto_close": S.CLOSED,
        "admin_cancel": S.CANCELLED,
        "close_duplicate": S.CLOSED,
        "resolve_duplicate": S.CLOSED,
    }
    if action in moves:
        return moves[action]
    if action in {"claim", "assign", "admin_assign"} and before == S.QUEUED:
        return S.IN_PROGRESS
    if action == "auto_assign":
        return S.IN_PROGRESS
    if action == "unassign_leaver" and before == S.IN_PROGRESS:
        return S.QUEUED
    if action == "merchant_reply" and before == S.WAITING_MERCHANT:
        return S.IN_PROGRESS
    return before


def _other_queue(ticket: Ticket, world: World) -> Queue:
    return Queue.objects.filter(provider=world.provider_x).exclude(pk=ticket.queue_id)[0]


# action → how to call it as `user` (None is the platform itself)
CALLS: dict[str, Callable[[Ticket, User | None, World], object]] = {
    "claim": lambda t, u, w: workflow.claim(t, u),
    "assign": lambda t, u, w: workflow.assign(t, u, w.xena),
    "reply": lambda t, u, w: workflow.reply(t, u, "We are on it."),
    "note": lambda t, u, w: workflow.note(t, u, "Checked the host logs."),
    "ask": lambda t, u, w: workflow.ask(t, u, "Which error code?"),
    "quote": lambda t, u, w: workflow.send_quote(t, u, Decimal("180.00"), "New printer head"),
    "transfer": lambda t, u, w: workflow.transfer(t, u, _other_queue(t, w), "Needs the bench"),
    "loaner_issue": lambda t, u, w: workflow.issue_loaner(t, u, "ln-001"),
    "loaner_return": lambda t, u, w: workflow.return_loaner(t, u),
    "resolve": lambda t, u, w: workflow.resolve(t, u, Ticket.Resolution.REMOTE_FIX, "Re-keyed"),
    "resolve_duplicate": lambda t, u, w: workflow.resolve_duplicate(
        t, u, queued_ticket(w.device_a, reporter=w.alice)
    ),
    "merchant_reply": lambda t, u, w: workflow.merchant_reply(t, u, "Error 11 again."),
    "quote_accept": lambda t, u, w: workflow.accept_quote(t, u),
    "quote_decline": lambda t, u, w: workflow.decline_quote(t, u),
    "confirm": lambda t, u, w: workflow.confirm(t, u),
    "reopen": lambda t, u, w: workflow.reopen(t, u, "Still dark after a day."),
    "cancel": lambda t, u, w: workflow.cancel(t, u, "A restart fixed it."),
    "rate": lambda t, u, w: workflow.rate(t, u, 5, "Fast."),
    "add_proof": lambda t, u, w: workflow.add_proof(
        t, u, SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt"), None
    ),
    "warranty_verify": lambda t, u, w: workflow.verify_warranty(t, u, None, "proof"),
    "warranty_reject": lambda t, u, w: workflow.reject_warranty(t, u, "Receipt of another one."),
    "admin_assign": lambda t, u, w: workflow.admin_assign(t, u, w.xena),
    "admin_cancel": lambda t, u, w: workflow.admin_cancel(t, u, "A test ticket."),
    "payments_back": lambda t, u, w: workflow.payments_back(t, u),
    "close_duplicate": lambda t, u, w: workflow.close_duplicate(
        t, u, TicketFactory(device=w.device_a, reporter=w.alice)
    ),
}

# The platform's own actions, called with no user.
SYSTEM_ACTIONS: dict[str, Callable[[Ticket, World], object]] = {
    "auto_close": lambda t, w: workflow.auto_close(t, 7),
    "unassign_leaver": lambda t, w: workflow.unassign_leaver(t, w.xena, workflow.LEFT_DEACTIVATED),
    "auto_assign": lambda t, w: workflow.auto_assign(t, w.xavier, "routed"),
}

# Claims on the terminal's warranty: the ticket must carry one for these to apply.
CLAIM_ACTIONS = {"add_proof", "warranty_verify", "warranty_reject"}

ROLES = ["merchant", "technician", "other_technician", "other_merchant", "admin", "system"]


def user_for(world: World, role: str) -> User | None:
    return {
        "merchant": world.alice,
        "technician": world.xavier,
        "other_technician": world.yuri,
        "other_merchant": world.bob,
        "admin": world.admin,
        "system": None,
    }[role]


def ticket_for(world: World, action: str, status: str) -> Ticket:
    """Merchant A's ticket in provider X's queue, with what `action` needs besides status."""
    billable = action in {"quote", "quote_accept", "quote_decline"}
    if action in CLAIM_ACTIONS:
        world.device_a.warranty_check = WarrantyCheck.CLAIMED
        world.device_a.save()
    if status == S.NEW:
        ticket = TicketFactory(device=world.device_a, reporter=world.alice, billable=billable)
    else:
        ticket = queued_ticket(
            world.device_a, status=status, billable=billable, reporter=world.alice
        )
    if action in {"quote_accept", "quote_decline"}:
        Quote.objects.create(
            ticket=ticket, amount=Decimal("99"), covers="Keypad", created_by=world.xavier
        )
    if action == "unassign_leaver":
        # Held by a technician who has left (no signal: the table is what is tested here).
        User.objects.filter(pk=world.xena.pk).update(is_active=False)
        Ticket.objects.filter(pk=ticket.pk).update(assigned_to=world.xena)
        ticket.refresh_from_db()
    if action == "loaner_return":
        ticket.loaner_serial = "LN-9"
        ticket.loaner_issued_at = ticket.created_at
        ticket.save()
    return ticket


def run(action: str, ticket: Ticket, user: User | None, world: World) -> object:
    if action in SYSTEM_ACTIONS:
        if user is not None:
            # Only the platform does these on its own: people are checked against the table.
            return workflow.check(ticket, action, workflow.role_for(ticket, user))
        return SYSTEM_ACTIONS[action](ticket, world)
    return CALLS[action](ticket, user, world)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_each_action_is_allowed_exactly_where_the_table_says(
    world: World, action: str, role: str
) -> None:
    allowed_role, sources = ALLOWED[action]
    user = user_for(world, role)
    wrong = []
    for status in S.values:
        ticket = ticket_for(world, action, status)
        events_before = ticket.events.count()
        should_pass = role == allowed_role and status in sources
        offered = action in workflow.allowed_actions(ticket, workflow.role_for(ticket, user))
        # Admins act from the Django admin, the platform from beat: nothing is "offered".
        if role not in {"system", "admin"} and offered != should_pass:
            wrong.append(f"{status}: offered={offered}")
        try:
            run(action, ticket, user, world)
        except workflow.NotAllowed as refused:
            if not str(refused):
                wrong.append(f"{status}: refused without saying why")
            if should_pass:
                wrong.append(f"{status}: refused ({refused})")
            ticket.refresh_from_db()
            if ticket.status != status or ticket.events.count() != events_before:
                wrong.append(f"{status}: a refused action changed the ticket")
            continue
        if not should_pass:
            wrong.append(f"{status}: allowed but should be refused")
            continue
        if action in SYSTEM_ACTIONS and user is not None:
            continue  # `check` passed for the system role; nothing ran.
        ticket.refresh_from_db()
        if ticket.status != expected_status(action, status):
            wrong.append(f"{status}: ended {ticket.status}")
        kind, public = EVENTS[action]
        event = ticket.events.order_by("-id").first()
        if event is None or (event.kind, event.public, event.actor) != (kind, public, user):
            wrong.append(f"{status}: event {event and (event.kind, event.public, event.actor)}")
    assert wrong == []


def test_the_table_names_every_action_of_the_workflow() -> None:
    assert set(ALLOWED) | BULK == set(workflow.ACTIONS)
