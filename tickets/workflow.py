"""The ticket's life: which action is allowed, for whom, from which state.

`ACTIONS` is the one table of transitions. Every state change goes through a
function here; each takes the ticket row with `select_for_update`, checks the
table, changes the ticket and writes a `TicketEvent` with its actor. An action
that the table refuses raises `NotAllowed` with a message for the user; views show
it and never turn it into a 500. Scope (is this user's merchant or provider the
ticket's?) is checked by `role_for`, and views answer 404 when it is `None`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Case, DurationField, ExpressionWrapper, F, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from devices import services as device_services
from devices.warranty import WarrantyCheck, WarrantyStatus
from portal.storage import atomic_with_uploads
from tickets import events, hooks
from tickets.calendars import add_open_minutes, open_minutes_between
from tickets.models import Queue, Quote, Ticket, TicketEvent
from tickets.pci import CARD_NUMBER_MESSAGE, contains_card_number
from tickets.queues import transfer_targets

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from portal.models import User

S = Ticket.Status
MERCHANT = "merchant"
TECHNICIAN = "technician"
ADMIN = "admin"
SYSTEM = "system"

OPEN = frozenset({S.QUEUED, S.IN_PROGRESS, S.WAITING_MERCHANT})
FILED = frozenset({S.NEW, *OPEN})
ANY = frozenset(S.values)


@dataclass(frozen=True)
class Action:
    label: str
    roles: frozenset[str]
    sources: frozenset[str]
    target: str | None  # None: the status does not change


ACTIONS: dict[str, Action] = {
    # Technician
    "claim": Action(gettext_lazy("Claim"), frozenset({TECHNICIAN}), OPEN, S.IN_PROGRESS),
    "assign": Action(gettext_lazy("Assign"), frozenset({TECHNICIAN}), OPEN, None),
    "reply": Action(gettext_lazy("Reply"), frozenset({TECHNICIAN}), OPEN, None),
    "note": Action(gettext_lazy("Internal note"), frozenset({TECHNICIAN}), ANY, None),
    "ask": Action(
        gettext_lazy("Ask the merchant"),
        frozenset({TECHNICIAN}),
        frozenset({S.QUEUED, S.IN_PROGRESS}),
        S.WAITING_MERCHANT,
    ),
    "quote": Action(
        gettext_lazy("Send a quote"),
        frozenset({TECHNICIAN}),
        frozenset({S.QUEUED, S.IN_PROGRESS}),
        S.WAITING_MERCHANT,
    ),
    "transfer": Action(gettext_lazy("Transfer"), frozenset({TECHNICIAN}), OPEN, S.QUEUED),
    "loaner_issue": Action(gettext_lazy("Loaner issued"), frozenset({TECHNICIAN}), OPEN, None),
    # A lent terminal must come back whatever became of the ticket, even a cancelled one.
    "loaner_return": Action(gettext_lazy("Loaner returned"), frozenset({TECHNICIAN}), ANY, None),
    "resolve": Action(
        gettext_lazy("Resolve"),
        frozenset({TECHNICIAN}),
        frozenset({S.QUEUED, S.IN_PROGRESS}),
        S.RESOLVED,
    ),
    # The same fault filed twice by one shop: closed, pointing to the ticket worked on.
    "resolve_duplicate": Action(
        gettext_lazy("Close as a duplicate"),
        frozenset({TECHNICIAN}),
        frozenset({S.QUEUED, S.IN_PROGRESS}),
        S.CLOSED,
    ),
    # The warranty claim, settled by the terminal's provider (see allowed_actions).
    "warranty_verify": Action(
        gettext_lazy("Verify the warranty"), frozenset({TECHNICIAN}), OPEN, None
    ),
    "warranty_reject": Action(
        gettext_lazy("Reject the warranty claim"), frozenset({TECHNICIAN}), OPEN, None
    ),
    # An incident is over (outages): all its open tickets at once, see resolve_many.
    "incident_resolve": Action(
        gettext_lazy("Resolve with the known problem"), frozenset({TECHNICIAN}), OPEN, S.RESOLVED
    ),
    # Merchant
    "merchant_reply": Action(gettext_lazy("Reply"), frozenset({MERCHANT}), FILED, None),
    "quote_accept": Action(
        gettext_lazy("Accept the quote"),
        frozenset({MERCHANT}),
        frozenset({S.WAITING_MERCHANT}),
        S.IN_PROGRESS,
    ),
    "quote_decline": Action(
        gettext_lazy("Decline the quote"),
        frozenset({MERCHANT}),
        frozenset({S.WAITING_MERCHANT}),
        S.IN_PROGRESS,
    ),
    "confirm": Action(
        gettext_lazy("Confirm the fix"), frozenset({MERCHANT}), frozenset({S.RESOLVED}), S.CLOSED
    ),
    "reopen": Action(
        gettext_lazy("Reopen"), frozenset({MERCHANT}), frozenset({S.RESOLVED}), S.IN_PROGRESS
    ),
    "cancel": Action(gettext_lazy("Cancel"), frozenset({MERCHANT}), FILED, S.CANCELLED),
    "rate": Action(gettext_lazy("Rate"), frozenset({MERCHANT}), frozenset({S.CLOSED}), None),
    # The shop takes card payments again while the ticket is still open (its downtime ends).
    "payments_back": Action(
        gettext_lazy("We can take payments again"), frozenset({MERCHANT}), FILED, None
    ),
    "add_proof": Action(
        gettext_lazy("Send the proof of purchase"), frozenset({MERCHANT}), FILED, None
    ),
    # PosDesk's admins, from the Django admin (never by editing the ticket's fields)
    "admin_assign": Action(gettext_lazy("Reassign"), frozenset({ADMIN}), OPEN, None),
    "admin_cancel": Action(gettext_lazy("Cancel"), frozenset({ADMIN}), FILED, S.CANCELLED),
    "close_duplicate": Action(
        gettext_lazy("Close as a duplicate"), frozenset({ADMIN}), FILED, S.CLOSED
    ),
    # The platform itself (beat tasks)
    "auto_close": Action(
        gettext_lazy("Close automatically"), frozenset({SYSTEM}), frozenset({S.RESOLVED}), S.CLOSED
    ),
    # The queue assigns automatically (tickets.assignment): at routing, and again when an
    # automatically assigned P1 lies untouched.
    "auto_assign": Action(
        gettext_lazy("Assign automatically"),
        frozenset({SYSTEM}),
        frozenset({S.QUEUED, S.IN_PROGRESS}),
        S.IN_PROGRESS,
    ),
    # The assignee left the queue's provider (deactivated, moved, membership removed):
    # the ticket goes back to the queue; one waiting on the merchant keeps waiting.
    "unassign_leaver": Action(
        gettext_lazy("Return to the queue"), frozenset({SYSTEM}), OPEN, S.QUEUED
    ),
}

# Why an assignee no longer holds their tickets (stored in the event, worded when read).
LEFT_DEACTIVATED = "deactivated"
LEFT_MOVED = "moved"
LEFT_REMOVED = "removed"
LEFT_REASONS = {
    LEFT_DEACTIVATED: gettext_lazy("account deactivated"),
    LEFT_MOVED: gettext_lazy("moved to another provider"),
    LEFT_REMOVED: gettext_lazy("no longer a member of the provider"),
}

# Resolutions that are repair work: refused on a billable ticket until a quote is accepted.
REPAIR_RESOLUTIONS = frozenset(
    {Ticket.Resolution.ON_SITE, Ticket.Resolution.REPAIR_CENTRE, Ticket.Resolution.REPLACED}
)

# Offered or not depending on whether a quote waits for the merchant's answer.
# What a technician may choose for one ticket; "known problem fixed" is the incident's.
TECHNICIAN_RESOLUTIONS = frozenset(Ticket.Resolution.values) - {Ticket.Resolution.INCIDENT_OVER}
_PENDING_QUOTE_MATTERS = frozenset({"quote_accept", "quote_decline", "transfer"})


class NotAllowed(Exception):
    """An action the ticket's state or the user's role does not allow; the message is for people."""


def role_for(ticket: Ticket, user: User | None) -> str | None:
    """The role `user` plays on `ticket`, or None when the ticket is outside their scope."""
    if user is None or not user.is_authenticated:
        return None
    merchant = user.merchant
    if merchant is not None and merchant.pk == ticket.merchant_id:
        return MERCHANT
    provider = user.provider
    if provider is not None and ticket.queue_id is not None:
        queue = ticket.queue
        if queue.provider_id == provider.pk:
            return TECHNICIAN
    return None


def allowed_actions(ticket: Ticket, role: str | None) -> set[str]:
    """Names of the actions `role` may take on `ticket` now (for showing buttons).

    The action functions check the same conditions again under a row lock: this only
    decides what to offer, so a stale page still gets a clear refusal, never a 500.
    """
    if role is None:
        return set()
    names = {
        name
        for name, action in ACTIONS.items()
        if role in action.roles and ticket.status in action.sources
    }
    if ticket.rating is not None:
        names.discard("rate")
    if not ticket.billable:
        names.discard("quote")
    if ticket.assigned_to_id is not None:
        # Taking a colleague's ticket is an assignment, said as such, not a claim.
        names.discard("claim")
    # A pending quote only ever exists while the ticket waits on the merchant.
    if ticket.status == S.WAITING_MERCHANT and names & _PENDING_QUOTE_MATTERS:
        if _has_pending_quote(ticket):
            # The merchant is deciding on this provider's price: it cannot leave mid-way.
            names.discard("transfer")
        else:
            names.discard("quote_accept")
            names.discard("quote_decline")
    if not ticket.warranty_to_verify:
        names.discard("warranty_verify")
        names.discard("warranty_reject")
    elif ticket.queue_id is None or ticket.queue.provider_id != ticket.device.provider_id:
        # Only the terminal's own provider vouches for its warranty.
        names.discard("warranty_verify")
        names.discard("warranty_reject")
    if not ticket.warranty_to_verify and ticket.warranty_status != WarrantyStatus.UNKNOWN:
        names.discard("add_proof")
    if ticket.loaner_issued_at is None or ticket.loaner_returned_at is not None:
        names.discard("loaner_return")
    if ticket.loaner_issued_at is not None and ticket.loaner_returned_at is None:
        names.discard("loaner_issue")
    return names


def check(ticket: Ticket, name: str, role: str | None) -> Action:
    action = ACTIONS[name]
    if role not in action.roles:
        raise NotAllowed(_("You cannot do “%(action)s” on this ticket.") % {"action": action.label})
    if ticket.status not in action.sources:
        raise NotAllowed(
            _("“%(action)s” is not possible while the ticket is %(status)s.")
            % {"action": action.label, "status": ticket.get_status_display().lower()}
        )
    return action


def _has_pending_quote(ticket: Ticket) -> bool:
    return ticket.quotes.filter(status=Quote.Status.PENDING).exists()


def _require_text(text: str, message: str) -> str:
    text = _free_text(text)
    if not text:
        raise NotAllowed(message)
    return text


def _free_text(text: str) -> str:
    """What a person wrote, stripped; never a card number, whatever the form checked."""
    text = (text or "").strip()
    if contains_card_number(text):
        raise NotAllowed(str(CARD_NUMBER_MESSAGE))
    return text


def _lock(ticket: Ticket) -> Ticket:
    # `of=("self",)`: PostgreSQL cannot lock the nullable side of the outer join to the
    # queue, and only the ticket row needs the lock anyway.
    return Ticket.objects.select_for_update(of=("self",)).select_related("queue").get(pk=ticket.pk)


_record = events.record


def _pause_sla(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def _resume_sla(ticket: Ticket, now: datetime) -> None:
    """The clock stopped while the merchant had the ball: push the due times by that long."""
    if ticket.sla_paused_at is None:
        return
    # In open hours when the queue has a calendar: a weekend's wait moves nothing.
    hours = ticket.queue.hours() if ticket.queue_id is not None else None
    paused_for = open_minutes_between(hours, ticket.sla_paused_at, now)
    if ticket.first_response_due is not None and ticket.first_responded_at is None:
        ticket.first_response_due = add_open_minutes(hours, ticket.first_response_due, paused_for)
    if ticket.resolution_due is not None:
        ticket.resolution_due = add_open_minutes(hours, ticket.resolution_due, paused_for)
    ticket.sla_paused_at = None


def _responded(ticket: Ticket, now: datetime) -> None:
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now


# The states in which a shop's fault is over (for its downtime, see tickets.hooks).
ENDED = frozenset({S.RESOLVED, S.CLOSED, S.CANCELLED})


def _move(ticket: Ticket, action: Action, now: datetime) -> None:
    if action.target is None or action.target == ticket.status:
        return
    if ticket.status == S.WAITING_MERCHANT:
        _resume_sla(ticket, now)
    if action.target == S.WAITING_MERCHANT:
        _pause_sla(ticket, now)
    ended = action.target in ENDED and ticket.status not in ENDED
    ticket.status = action.target
    if ended:
        hooks.tickets_ended.send(Ticket, ticket_ids=[ticket.pk], at=now, how=action.target)


def _start(
    ticket: Ticket, name: str, user: User | None, role: str | None = None
) -> tuple[Ticket, Action]:
    locked = _lock(ticket)
    if role is None:
        role = SYSTEM if user is None else role_for(locked, user)
    return locked, check(locked, name, role)


# Technician actions ------------------------------------------------------------------


def claim(ticket: Ticket, user: User) -> Ticket:
    """Take the ticket. Of two technicians claiming at once, exactly one wins."""
    with transaction.atomic():
        t, action = _start(ticket, "claim", user)
        if t.assigned_to_id is not None:
            if t.assigned_to_id == user.pk:
                raise NotAllowed(_("You already have this ticket."))
            raise NotAllowed(
                _("%(name)s has already claimed this ticket.")
                % {"name": t.assigned_to.get_full_name() or t.assigned_to.get_username()}
            )
        now = timezone.now()
        t.assigned_to = user
        if t.status == S.QUEUED:
            _move(t, action, now)
        _responded(t, now)
        t.save()
        _record(t, TicketEvent.Kind.CLAIMED, user, public=True)
        return t


def assign(ticket: Ticket, user: User, assignee: User) -> Ticket:
    with transaction.atomic():
        t, _action = _start(ticket, "assign", user)
        if (
            not assignee.is_active
            or assignee.provider is None
            or assignee.provider.pk != t.queue.provider_id
        ):
            raise NotAllowed(_("You can assign only to a colleague of the same provider."))
        if t.assigned_to_id == assignee.pk:
            raise NotAllowed(
                _("%(name)s already has this ticket.")
                % {"name": assignee.get_full_name() or assignee.get_username()}
            )
        return _hand_to(t, assignee, user)


def _hand_to(t: Ticket, assignee: User, actor: User) -> Ticket:
    """Give the locked ticket to `assignee`, with an internal event naming `actor`."""
    t.assigned_to = assignee
    t.auto_assigned_at = None  # a person chose: no automatic reassignment
    if t.status == S.QUEUED:
        # Someone now works on it: the same step a claim makes (never from waiting).
        t.status = S.IN_PROGRESS
    t.save()
    _record(
        t,
        TicketEvent.Kind.ASSIGNED,
        actor,
        public=False,
        data={"assignee": assignee.pk, "assignee_name": assignee.get_username()},
    )
    return t


def reply(ticket: Ticket, user: User, body: str, *, data: dict | None = None) -> TicketEvent:
    """`data`: facts about how it came (mail.inbound: by e-mail, a card number cut)."""
    with transaction.atomic():
        t, _action = _start(ticket, "reply", user)
        body = _require_text(body, _("Write the reply."))
        _responded(t, timezone.now())
        t.save()
        return _record(t, TicketEvent.Kind.REPLY, user, body, data=data)


def note(ticket: Ticket, user: User, body: str) -> TicketEvent:
    with transaction.atomic():
        t, _action = _start(ticket, "note", user)
        body = _require_text(body, _("Write the note."))
        return _record(t, TicketEvent.Kind.NOTE, user, body, public=False)


def ask(ticket: Ticket, user: User, body: str) -> TicketEvent:
    with transaction.atomic():
        t, action = _start(ticket, "ask", user)
        body = _require_text(body, _("Write the question for the merchant."))
        now = timezone.now()
        if t.assigned_to_id is None:
            t.assigned_to = user
        _responded(t, now)
        _move(t, action, now)
        t.save()
        return _record(t, TicketEvent.Kind.QUESTION, user, body)


def send_quote(ticket: Ticket, user: User, amount: Decimal, covers: str) -> Quote:
    with transaction.atomic():
        t, action = _start(ticket, "quote", user)
        if not t.billable:
            raise NotAllowed(_("This repair is not billable: no quote is needed."))
        # Refused here, not left to the database's check constraint (an error page).
        if amount is None or amount <= 0:
            raise NotAllowed(_("The amount must be more than zero."))
        covers = _require_text(covers, _("Say what the quote covers."))
        if _has_pending_quote(t):
            raise NotAllowed(_("A quote is already waiting for the merchant."))
        now = timezone.now()
        quote = Quote.objects.create(
            ticket=t, provider=t.queue.provider, amount=amount, covers=covers, created_by=user
        )
        if t.assigned_to_id is None:
            t.assigned_to = user
        _responded(t, now)
        _move(t, action, now)
        t.save()
        _record(
            t,
            TicketEvent.Kind.QUOTE_SENT,
            user,
            covers,
            data={"quote": quote.pk, "amount": str(amount)},
        )
        return quote


def transfer(ticket: Ticket, user: User, queue: Queue, reason: str) -> Ticket:
    with transaction.atomic():
        t, action = _start(ticket, "transfer", user)
        reason = _require_text(reason, _("Say why the ticket is transferred."))
        if queue.pk == t.queue_id:
            raise NotAllowed(_("The ticket is already in that queue."))
        if not queue.active:
            raise NotAllowed(_("That queue is not active."))
        if not transfer_targets(t).filter(pk=queue.pk).exists():
            raise NotAllowed(
                _(
                    "Transfer only to your own queues, the terminal's provider's or acquirer's "
                    "repair and payment queues, or the platform triage."
                )
            )
        if _has_pending_quote(t):
            # The merchant may be accepting this provider's price right now; the new queue
            # could neither honour it nor send its own while it is pending.
            raise NotAllowed(
                _("A quote is waiting for the merchant's answer: transfer after it is decided.")
            )
        now = timezone.now()
        old_queue = t.queue
        _resume_sla(t, now)
        t.queue = queue
        t.assigned_to = None
        t.auto_assigned_at = None
        t.status = action.target
        # The new queue's own targets start now; its breaches are its own to be told about.
        t.set_sla_due(now)
        t.first_response_breached_at = None
        t.resolution_breached_at = None
        if queue.provider_id is None:
            # Only admins see the platform's queues.
            t.needs_admin = True
        t.save()
        _record(
            t,
            TicketEvent.Kind.TRANSFERRED,
            user,
            reason,
            data={
                "from_queue": old_queue.pk if old_queue else None,
                "to_queue": queue.pk,
                "to_queue_name": queue.name,
            },
        )
        return t


def issue_loaner(ticket: Ticket, user: User, serial: str) -> Ticket:
    with transaction.atomic():
        t, _action = _start(ticket, "loaner_issue", user)
        if t.loaner_issued_at is not None and t.loaner_returned_at is None:
            raise NotAllowed(_("A loaner is already out for this ticket."))
        serial = _require_text(serial, _("Give the loaner's serial number."))
        t.loaner_serial = serial.upper()
        t.loaner_issued_at = timezone.now()
        t.loaner_returned_at = None
        t.save()
        _record(t, TicketEvent.Kind.LOANER_ISSUED, user, data={"serial": t.loaner_serial})
        return t


def return_loaner(ticket: Ticket, user: User) -> Ticket:
    with transaction.atomic():
        t, _action = _start(ticket, "loaner_return", user)
        if t.loaner_issued_at is None or t.loaner_returned_at is not None:
            raise NotAllowed(_("No loaner is out for this ticket."))
        t.loaner_returned_at = timezone.now()
        t.save()
        _record(t, TicketEvent.Kind.LOANER_RETURNED, user, data={"serial": t.loaner_serial})
        return t


def resolve_duplicate(ticket: Ticket, user: User, original: Ticket) -> Ticket:
    """The shop filed the same fault twice: close this one, pointing to `original`, which
    must be the same shop's and in the technician's own queues (the admin's
    `close_duplicate` reaches any ticket; a technician only what they can see)."""
    with transaction.atomic():
        t, action = _start(ticket, "resolve_duplicate", user)
        if original.pk == t.pk:
            raise NotAllowed(_("A ticket cannot duplicate itself."))
        provider = user.provider
        if (
            provider is None
            or original.queue_id is None
            or original.queue.provider_id != provider.pk
        ):
            # The same words whether it exists elsewhere or not at all.
            raise NotAllowed(_("No ticket has this reference."))
        if original.merchant_id != t.merchant_id:
            raise NotAllowed(_("The original must be a ticket of the same merchant."))
        t.closed_at = timezone.now()
        _move(t, action, t.closed_at)
        t.save()
        _record(t, TicketEvent.Kind.DUPLICATE, user, data={"original": original.reference})
        return t


def quote_gate_open(ticket: Ticket) -> bool:
    """Billable repair work waits for a quote accepted from the provider that has the
    ticket now: a price agreed with another provider before a transfer binds nobody."""
    if not ticket.billable:
        return True
    provider_id = ticket.queue.provider_id if ticket.queue_id else None
    return ticket.quotes.filter(status=Quote.Status.ACCEPTED, provider_id=provider_id).exists()


def repair_refusal(ticket: Ticket) -> str | None:
    """Why repair work is not allowed yet, or None when it is."""
    if ticket.warranty_to_verify and ticket.billable is not True:
        return _(
            "The merchant claims the warranty: verify it (or reject the claim and send a "
            "quote) before repair work."
        )
    if not quote_gate_open(ticket):
        return _("This repair is billable: the merchant must accept a quote before repair work.")
    return None


def _repair_under_way(ticket: Ticket) -> str | None:
    """A repair whose logistics were chosen (the repairs app) is resolved as repaired only
    once the shop has its terminal: the visit done, or the terminal or its replacement
    received by the shop."""
    repair = getattr(ticket, "repair", None)  # the repairs app's one-to-one, if any
    if repair is not None and not repair.reached_shop:
        return _(
            "The repair has not reached the shop yet: record its steps (the visit, or the "
            "terminal received by the shop) before resolving it as repaired."
        )
    return None


def resolve(ticket: Ticket, user: User, code: str, note_text: str) -> Ticket:
    with transaction.atomic():
        t, action = _start(ticket, "resolve", user)
        if code not in TECHNICIAN_RESOLUTIONS:
            raise NotAllowed(_("Choose how the fault was resolved."))
        if code in REPAIR_RESOLUTIONS and (refusal := repair_refusal(t) or _repair_under_way(t)):
            raise NotAllowed(refusal)
        note_text = _free_text(note_text)
        now = timezone.now()
        t.resolution_code = code
        t.resolution_note = note_text
        t.resolved_at = now
        if t.assigned_to_id is None:
            t.assigned_to = user
        _responded(t, now)
        _move(t, action, now)
        t.save()
        _record(
            t,
            TicketEvent.Kind.RESOLVED,
            user,
            note_text,
            data={"resolution": code, "resolution_label": str(Ticket.Resolution(code).label)},
        )
        return t


def resolve_many(
    tickets: QuerySet[Ticket],
    user: User | None,
    *,
    provider_id: int,
    data: dict,
    body: str = "",
) -> list[tuple[int, int, str]]:
    """Resolve every ticket of `tickets` the "incident_resolve" action allows, at once
    and with a fixed number of statements however many there are: an incident is over
    (outages.fanout). Each gets its `resolved` event; nobody is mailed here (the caller
    writes one e-mail per shop). A ticket waiting on the merchant's decision on a
    quote keeps waiting: that price is still theirs to answer.

    Only tickets in `provider_id`'s queues: one transferred to another provider since
    it was linked is that provider's to resolve. `user` (the technician who resolved the
    incident, None for an admin's) is the events' actor.

    Returns (ticket id, merchant id, reference) of those it resolved. The caller's transaction
    holds their row locks until it commits."""
    action = ACTIONS["incident_resolve"]
    with transaction.atomic():
        rows = list(
            tickets.filter(status__in=action.sources, queue__provider_id=provider_id)
            .exclude(status=S.WAITING_MERCHANT, quotes__status=Quote.Status.PENDING)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "merchant_id", "reference", "queue__provider_id")
        )
        if not rows:
            return []
        ids = [pk for pk, *_rest in rows]
        now = timezone.now()
        body = _free_text(body)
        paused_for = ExpressionWrapper(Value(now) - F("sla_paused_at"), DurationField())
        Ticket.objects.filter(pk__in=ids).update(
            status=action.target,
            resolution_code=Ticket.Resolution.INCIDENT_OVER,
            resolution_note=body,
            resolved_at=now,
            first_responded_at=Coalesce(F("first_responded_at"), Value(now)),
            assigned_to_id=Coalesce(F("assigned_to_id"), Value(user.pk if user else None)),
            # _resume_sla for those that waited on the merchant (resolution is what counts).
            resolution_due=Case(
                When(sla_paused_at__isnull=False, then=F("resolution_due") + paused_for),
                default=F("resolution_due"),
            ),
            sla_paused_at=None,
            updated_at=now,
        )
        events.record_many(
            [(pk, provider) for pk, _merchant, _reference, provider in rows],
            TicketEvent.Kind.RESOLVED,
            user,
            body,
            data={
                **data,
                "resolution": Ticket.Resolution.INCIDENT_OVER,
                "resolution_label": str(Ticket.Resolution.INCIDENT_OVER.label),
            },
        )
        hooks.tickets_ended.send(Ticket, ticket_ids=ids, at=now, how=action.target)
        return [(pk, merchant, reference) for pk, merchant, reference, _provider in rows]


# The warranty claim ---------------------------------------------------------------------


def verify_warranty(
    ticket: Ticket,
    user: User,
    warranty_end: date | None,
    source: str,
    note: str = "",
) -> Ticket:
    """The provider checked the proof (or its register): the terminal's warranty is
    verified, and this ticket is free if the warranty covered the day it was filed."""
    with transaction.atomic():
        t, _action = _start(ticket, "warranty_verify", user)
        if "warranty_verify" not in allowed_actions(t, TECHNICIAN):
            raise NotAllowed(_("This ticket has no warranty claim for you to verify."))
        note = _free_text(note)
        try:
            device = device_services.verify(
                t.device, user=user, warranty_end=warranty_end, source=source, note=note
            )
        except device_services.WarrantyRefused as refused:
            raise NotAllowed(str(refused)) from None
        t.device = device
        filed_on = timezone.localdate(t.created_at)
        t.warranty_end = device.warranty_end
        t.warranty_status = device.warranty_status(filed_on)
        t.warranty_check = WarrantyCheck.VERIFIED
        t.warranty_check_note = ""
        covered = t.warranty_status == WarrantyStatus.IN
        if t.billable is None or covered:
            t.billable = not covered
        _responded(t, timezone.now())
        t.save()
        _record(
            t,
            TicketEvent.Kind.WARRANTY_VERIFIED,
            user,
            data={
                "warranty_end": device.warranty_end.isoformat(),
                "source": source,
                "covered": covered,
            },
        )
        return t


def reject_warranty(ticket: Ticket, user: User, reason: str) -> Ticket:
    """The claim does not hold: the repair is billable and waits for an accepted quote.
    The reason is shown to the merchant, in the technician's words."""
    with transaction.atomic():
        t, _action = _start(ticket, "warranty_reject", user)
        if "warranty_reject" not in allowed_actions(t, TECHNICIAN):
            raise NotAllowed(_("This ticket has no warranty claim for you to reject."))
        reason = _require_text(reason, _("Say why the warranty claim is rejected."))
        try:
            device_services.reject(t.device, user=user, reason=reason)
        except device_services.WarrantyRefused as refused:
            raise NotAllowed(str(refused)) from None
        t.warranty_status = WarrantyStatus.OUT
        t.warranty_check = WarrantyCheck.REJECTED
        t.warranty_check_note = reason[:200]
        t.billable = True
        _responded(t, timezone.now())
        t.save()
        _record(t, TicketEvent.Kind.WARRANTY_REJECTED, user, reason)
        return t


def add_proof(
    ticket: Ticket, user: User, proof: UploadedFile, purchase_date: date | None
) -> Ticket:
    """The merchant sends the proof of purchase the provider needs, from the ticket."""
    # The outermost transaction around the proof's file: it goes if this rolls back.
    with atomic_with_uploads():
        t, _action = _start(ticket, "add_proof", user)
        if "add_proof" not in allowed_actions(t, MERCHANT):
            raise NotAllowed(_("This ticket needs no proof of purchase."))
        device = device_services.add_proof(
            t.device, user=user, proof=proof, purchase_date=purchase_date
        )
        # Still a claim: the ticket waits for the provider to verify it.
        t.warranty_check = WarrantyCheck.CLAIMED
        t.warranty_check_note = ""
        t.save()
        _record(
            t,
            TicketEvent.Kind.PROOF_ADDED,
            user,
            data={
                "purchase_date": device.purchase_date.isoformat() if device.purchase_date else "",
            },
        )
        return t


# Merchant actions --------------------------------------------------------------------


def merchant_reply(
    ticket: Ticket, user: User, body: str, *, data: dict | None = None
) -> TicketEvent:
    """The merchant writes; an answer to a question gives the ticket back to the technician.
    `data`: facts about how it came (mail.inbound: by e-mail, a card number cut)."""
    with transaction.atomic():
        t, _action = _start(ticket, "merchant_reply", user)
        body = _require_text(body, _("Write your reply."))
        now = timezone.now()
        # A pending quote keeps the ticket waiting: only accepting or declining answers it.
        if t.status == S.WAITING_MERCHANT and not _has_pending_quote(t):
            _resume_sla(t, now)
            t.status = S.IN_PROGRESS
            t.save()
        return _record(t, TicketEvent.Kind.MERCHANT_REPLY, user, body, data=data)


def _decide_quote(ticket: Ticket, user: User, name: str, status: str, kind: str) -> Quote:
    with transaction.atomic():
        t, action = _start(ticket, name, user)
        quote = t.quotes.select_for_update().filter(status=Quote.Status.PENDING).first()
        if quote is None:
            raise NotAllowed(_("There is no quote waiting for your answer."))
        now = timezone.now()
        quote.status = status
        quote.decided_by = user
        quote.decided_at = now
        quote.save()
        _move(t, action, now)
        t.save()
        _record(t, kind, user, data={"quote": quote.pk, "amount": str(quote.amount)})
        return quote


def accept_quote(ticket: Ticket, user: User) -> Quote:
    return _decide_quote(
        ticket, user, "quote_accept", Quote.Status.ACCEPTED, TicketEvent.Kind.QUOTE_ACCEPTED
    )


def decline_quote(ticket: Ticket, user: User) -> Quote:
    return _decide_quote(
        ticket, user, "quote_decline", Quote.Status.DECLINED, TicketEvent.Kind.QUOTE_DECLINED
    )


def confirm(ticket: Ticket, user: User) -> Ticket:
    with transaction.atomic():
        t, action = _start(ticket, "confirm", user)
        now = timezone.now()
        t.closed_at = now
        _move(t, action, now)
        t.save()
        _record(t, TicketEvent.Kind.CONFIRMED, user)
        return t


def reopen(ticket: Ticket, user: User, reason: str) -> Ticket:
    with transaction.atomic():
        t, action = _start(ticket, "reopen", user)
        reason = _require_text(reason, _("Say what is still wrong."))
        now = timezone.now()
        t.resolved_at = None
        t.resolution_code = ""
        t.resolution_note = ""
        _move(t, action, now)
        t.save()
        _record(t, TicketEvent.Kind.REOPENED, user, reason)
        return t


def payments_back(ticket: Ticket, user: User) -> TicketEvent:
    """The shop says it takes card payments again: the fault may go on (a printer), the
    downtime is over (outages keeps its record)."""
    with transaction.atomic():
        t, _action = _start(ticket, "payments_back", user)
        return _record(t, TicketEvent.Kind.PAYMENTS_BACK, user)


def cancel(
    ticket: Ticket, user: User, reason: str, code: str = Ticket.CancelReason.OTHER
) -> Ticket:
    """The shop withdraws it: `code` is one of Ticket.CancelReason (stored, worded when
    read); `reason` is what the shop typed, needed only for "other"."""
    with transaction.atomic():
        t, action = _start(ticket, "cancel", user)
        if code not in Ticket.CancelReason.values:
            raise NotAllowed(_("Say why you withdraw the ticket."))
        if code == Ticket.CancelReason.OTHER:
            reason = _require_text(reason, _("Say why you withdraw the ticket."))
        now = timezone.now()
        t.cancel_reason = (reason or "").strip()[:200]
        t.closed_at = now
        # A withdrawn ticket answers its pending quote too: no price stays open forever.
        t.quotes.filter(status=Quote.Status.PENDING).update(
            status=Quote.Status.DECLINED, decided_by=user, decided_at=now
        )
        _move(t, action, now)
        t.save()
        _record(t, TicketEvent.Kind.CANCELLED, user, t.cancel_reason, data={"reason": code})
        return t


def rate(ticket: Ticket, user: User, rating: int, comment: str) -> Ticket:
    with transaction.atomic():
        t, _action = _start(ticket, "rate", user)
        if t.rating is not None:
            raise NotAllowed(_("You have already rated this ticket."))
        if not 1 <= rating <= 5:
            raise NotAllowed(_("Choose a rating from 1 to 5."))
        t.rating = rating
        t.rating_comment = _free_text(comment)
        t.save()
        _record(t, TicketEvent.Kind.RATED, user, t.rating_comment, data={"rating": rating})
        return t


# PosDesk's admins --------------------------------------------------------------------


def _admin_role(user: User | None) -> str:
    """Staff act as PosDesk's admins; anyone else is refused by the table."""
    return ADMIN if user is not None and user.is_active and user.is_staff else "nobody"


def admin_assign(ticket: Ticket, admin: User, assignee: User) -> Ticket:
    """Reassign from the admin, e.g. when the assignee left: the same rule as a
    technician's assignment (a colleague of the queue's provider), with its event."""
    with transaction.atomic():
        t, _action = _start(ticket, "admin_assign", admin, role=_admin_role(admin))
        provider = assignee.provider
        if not assignee.is_active or provider is None or provider.pk != t.queue.provider_id:
            raise NotAllowed(_("Assign only to an active technician of the queue's provider."))
        return _hand_to(t, assignee, admin)


def admin_cancel(ticket: Ticket, admin: User, reason: str) -> Ticket:
    """PosDesk withdraws a ticket (a test, spam, filed for the wrong shop)."""
    with transaction.atomic():
        t, action = _start(ticket, "admin_cancel", admin, role=_admin_role(admin))
        reason = _require_text(reason, _("Say why the ticket is cancelled."))
        now = timezone.now()
        t.cancel_reason = reason[:200]
        t.closed_at = now
        t.quotes.filter(status=Quote.Status.PENDING).update(
            status=Quote.Status.DECLINED, decided_by=admin, decided_at=now
        )
        _move(t, action, now)
        t.save()
        _record(t, TicketEvent.Kind.CANCELLED_BY_ADMIN, admin, t.cancel_reason)
        return t


def close_duplicate(ticket: Ticket, admin: User, original: Ticket) -> Ticket:
    """The same fault was filed twice: close this one, pointing to the one worked on."""
    with transaction.atomic():
        t, action = _start(ticket, "close_duplicate", admin, role=_admin_role(admin))
        if original.pk == t.pk:
            raise NotAllowed(_("A ticket cannot duplicate itself."))
        if original.merchant_id != t.merchant_id:
            raise NotAllowed(_("The original must be a ticket of the same merchant."))
        now = timezone.now()
        t.closed_at = now
        t.quotes.filter(status=Quote.Status.PENDING).update(
            status=Quote.Status.DECLINED, decided_by=admin, decided_at=now
        )
        _move(t, action, now)
        t.save()
        _record(
            t,
            TicketEvent.Kind.DUPLICATE,
            admin,
            data={"original": original.reference},
        )
        return t


# The platform ------------------------------------------------------------------------


def auto_close(ticket: Ticket, days: int, *, now: datetime | None = None) -> Ticket:
    """Close a ticket resolved `days` ago that the merchant never answered."""
    with transaction.atomic():
        t, action = _start(ticket, "auto_close", None, role=SYSTEM)
        now = now or timezone.now()
        if t.resolved_at is not None and t.resolved_at > now - timedelta(days=days):
            # Reopened and resolved again since the beat task picked it: a fresh wait.
            raise NotAllowed(_("Resolved less than %(days)d days ago.") % {"days": days})
        t.closed_at = now
        _move(t, action, now)
        t.save()
        _record(
            t,
            TicketEvent.Kind.CLOSED,
            None,
            data={"auto_close_days": days},
        )
        return t


def auto_assign(ticket: Ticket, assignee: User, reason: str) -> Ticket:
    """The platform gives the ticket to `assignee`, chosen by the queue's rule
    (tickets.assignment, which holds the provider's lock). `reason` is "routed" or
    "p1_untouched"."""
    with transaction.atomic():
        t, action = _start(ticket, "auto_assign", None, role=SYSTEM)
        provider = assignee.provider
        if not assignee.is_active or provider is None or provider.pk != t.queue.provider_id:
            raise NotAllowed(_("Assign only to an active technician of the queue's provider."))
        if t.assigned_to_id == assignee.pk:
            raise NotAllowed(
                _("%(name)s already has this ticket.")
                % {"name": assignee.get_full_name() or assignee.get_username()}
            )
        now = timezone.now()
        previous = t.assigned_to_id
        t.assigned_to = assignee
        t.auto_assigned_at = now
        _move(t, action, now)
        t.save()
        _record(
            t,
            TicketEvent.Kind.ASSIGNED,
            None,
            public=False,
            data={
                "assignee": assignee.pk,
                "assignee_name": assignee.get_username(),
                "auto": t.queue.assignment,
                "reason": reason,
                "previous": previous,
            },
        )
        return t


def unassign_leaver(ticket: Ticket, leaver: User, reason: str) -> Ticket:
    """Give back a ticket whose assignee left (see `services.release_assigned_tickets`):
    nobody holds it, and one in progress is queued again for a colleague to claim. One
    waiting on the merchant keeps waiting: the question or quote is still theirs."""
    with transaction.atomic():
        t, action = _start(ticket, "unassign_leaver", None, role=SYSTEM)
        if reason not in LEFT_REASONS:
            raise NotAllowed(_("Say why the assignee left."))
        if t.assigned_to_id is None or t.assigned_to_id != leaver.pk:
            # Reassigned or claimed since the caller looked: nothing to give back.
            raise NotAllowed(
                _("This ticket is not assigned to %(name)s.") % {"name": leaver.get_username()}
            )
        t.assigned_to = None
        t.auto_assigned_at = None
        if t.status == S.IN_PROGRESS:
            _move(t, action, timezone.now())
        t.save()
        _record(
            t,
            TicketEvent.Kind.UNASSIGNED,
            None,
            public=False,
            data={"leaver": leaver.pk, "leaver_name": leaver.get_username(), "reason": reason},
        )
        return t
