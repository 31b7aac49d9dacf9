"""The life of a repair: one table of steps (who, for which method, from which step, to
which step, with which event), and one atomic function per step that locks the ticket,
checks the table and records the step's event through `tickets.events.record`.

A repair starts only once it is decided (`tickets.workflow.repair_refusal` is None:
warranty verified, or a quote of the ticket's provider accepted), and only while the
ticket is worked on. A refused step raises `workflow.NotAllowed` with a message for
people; views show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from repairs.models import Repair
from tickets import events, workflow
from tickets.models import Ticket, TicketEvent
from tickets.pci import CARD_NUMBER_MESSAGE, contains_card_number

if TYPE_CHECKING:
    from portal.models import User

S = Ticket.Status
M = Repair.Method
P = Repair.Step
K = TicketEvent.Kind
MERCHANT, TECHNICIAN = workflow.MERCHANT, workflow.TECHNICIAN

# A repair is chosen while the ticket is worked on; its steps go on after the fix is
# reported (the terminal comes back, the old one is returned) until the ticket closes.
START_STATUSES = frozenset({S.QUEUED, S.IN_PROGRESS})
STEP_STATUSES = frozenset({S.QUEUED, S.IN_PROGRESS, S.WAITING_MERCHANT, S.RESOLVED})


@dataclass(frozen=True)
class Step:
    label: object  # a lazy translation: what the button says
    roles: frozenset[str]
    method: str
    sources: frozenset[str]
    target: str
    kind: str


STEPS: dict[str, Step] = {
    # A visit: the technician proposes, the shop confirms or counters.
    "propose": Step(
        gettext_lazy("Propose another time"),
        frozenset({TECHNICIAN}),
        M.VISIT,
        frozenset({P.VISIT_PROPOSED, P.VISIT_COUNTERED}),
        P.VISIT_PROPOSED,
        K.REPAIR_VISIT,
    ),
    "confirm": Step(
        gettext_lazy("Confirm this time"),
        frozenset({MERCHANT}),
        M.VISIT,
        frozenset({P.VISIT_PROPOSED}),
        P.VISIT_CONFIRMED,
        K.REPAIR_CONFIRMED,
    ),
    "counter": Step(
        gettext_lazy("Propose another time"),
        frozenset({MERCHANT}),
        M.VISIT,
        frozenset({P.VISIT_PROPOSED}),
        P.VISIT_COUNTERED,
        K.REPAIR_COUNTERED,
    ),
    "accept_counter": Step(
        gettext_lazy("Accept the shop's time"),
        frozenset({TECHNICIAN}),
        M.VISIT,
        frozenset({P.VISIT_COUNTERED}),
        P.VISIT_CONFIRMED,
        K.REPAIR_CONFIRMED,
    ),
    "visited": Step(
        gettext_lazy("The visit is done"),
        frozenset({TECHNICIAN}),
        M.VISIT,
        frozenset({P.VISIT_CONFIRMED}),
        P.VISITED,
        K.REPAIR_VISITED,
    ),
    # A send-in: the centre receives, repairs and ships it back; the shop receives it.
    "received": Step(
        gettext_lazy("The terminal has arrived"),
        frozenset({TECHNICIAN}),
        M.SEND_IN,
        frozenset({P.AWAITING_UNIT}),
        P.RECEIVED,
        K.REPAIR_RECEIVED,
    ),
    "repaired": Step(
        gettext_lazy("The terminal is repaired"),
        frozenset({TECHNICIAN}),
        M.SEND_IN,
        frozenset({P.RECEIVED}),
        P.REPAIRED,
        K.REPAIR_REPAIRED,
    ),
    "ship_back": Step(
        gettext_lazy("Shipped back"),
        frozenset({TECHNICIAN}),
        M.SEND_IN,
        frozenset({P.REPAIRED}),
        P.SHIPPED_BACK,
        K.REPAIR_SHIPPED,
    ),
    # The shop says it has the terminal (or the technician, on the courier's word).
    "delivered": Step(
        gettext_lazy("Received"),
        frozenset({MERCHANT, TECHNICIAN}),
        "",  # send-in or swap, see _DELIVERED_FROM
        frozenset({P.SHIPPED_BACK, P.REPLACEMENT_SHIPPED}),
        P.DELIVERED,
        K.REPAIR_DELIVERED,
    ),
    # A swap ends when the old terminal is back: it holds data, it is never thrown away.
    "old_returned": Step(
        gettext_lazy("The old terminal is back"),
        frozenset({TECHNICIAN}),
        M.SWAP,
        frozenset({P.DELIVERED}),
        P.OLD_RETURNED,
        K.REPAIR_OLD_RETURNED,
    ),
}

# How each method starts: its first step and event.
FIRST = {
    M.VISIT: (P.VISIT_PROPOSED, K.REPAIR_VISIT),
    M.SEND_IN: (P.AWAITING_UNIT, K.REPAIR_SEND_IN),
    M.SWAP: (P.REPLACEMENT_SHIPPED, K.REPAIR_SWAP),
}


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def allowed_steps(repair: Repair | None, ticket: Ticket, role: str) -> set[str]:
    """Names of the steps `role` may take now (for showing buttons; the step functions
    check again under the lock)."""
    if repair is None or ticket.status not in STEP_STATUSES:
        return set()
    return {
        name
        for name, step in STEPS.items()
        if role in step.roles
        and (not step.method or step.method == repair.method)
        and repair.step in step.sources
    }


def start_refusal(ticket: Ticket) -> str | None:
    """Why no repair can be chosen for `ticket` now, or None."""
    if ticket.status not in START_STATUSES:
        return _("A repair is chosen while the ticket is being worked on.")
    return workflow.repair_refusal(ticket)


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("queue").get(pk=ticket.pk)


def _role(ticket: Ticket, user: User) -> str | None:
    return workflow.role_for(ticket, user)


@transaction.atomic
def start(
    ticket: Ticket,
    user: User,
    method: str,
    *,
    slot_start: datetime | None = None,
    slot_end: datetime | None = None,
    centre_address: str = "",
    courier: str = "",
    tracking: str = "",
    replacement_serial: str = "",
) -> Repair:
    """The technician chooses how the decided repair happens, with its first step's facts."""
    t = _lock(ticket)
    if _role(t, user) != TECHNICIAN:
        raise workflow.NotAllowed(_("Only the ticket's technicians choose how it is repaired."))
    if (refusal := start_refusal(t)) is not None:
        raise workflow.NotAllowed(refusal)
    if Repair.objects.filter(ticket=t).exists():
        raise workflow.NotAllowed(_("How this terminal is repaired is already chosen."))
    if method not in FIRST:
        raise workflow.NotAllowed(_("Choose how the terminal is repaired."))
    now = timezone.now()
    step, kind = FIRST[method]
    repair = Repair(
        ticket=t, method=method, step=step, created_by=user, created_at=now, step_at=now
    )
    if method == M.VISIT:
        _check_slot(slot_start, slot_end, now)
        repair.slot_start, repair.slot_end = slot_start, slot_end
        data = {"start": _iso(slot_start), "end": _iso(slot_end)}
    elif method == M.SEND_IN:
        if not (centre_address.strip() and courier.strip() and tracking.strip()):
            raise workflow.NotAllowed(
                _("Give the repair centre's address, courier and tracking number.")
            )
        repair.centre_address = centre_address.strip()
        repair.courier_in, repair.tracking_in = courier.strip(), tracking.strip()
        data = {
            "address": repair.centre_address,
            "courier": repair.courier_in,
            "tracking": repair.tracking_in,
        }
    else:
        if not (replacement_serial.strip() and courier.strip() and tracking.strip()):
            raise workflow.NotAllowed(
                _("Give the replacement's serial, courier and tracking number.")
            )
        repair.replacement_serial = replacement_serial.strip()
        repair.courier_out, repair.tracking_out = courier.strip(), tracking.strip()
        repair.shipped_at = now
        data = {
            "serial": repair.replacement_serial,
            "courier": repair.courier_out,
            "tracking": repair.tracking_out,
        }
    repair.full_clean(exclude=["ticket", "created_by"])
    repair.save()
    events.record(t, kind, user, data={"method": method, **data})
    return repair


def _check_slot(start_at: datetime | None, end_at: datetime | None, now: datetime) -> None:
    if start_at is None or end_at is None:
        raise workflow.NotAllowed(_("Give the day and the hours of the visit."))
    if end_at <= start_at:
        raise workflow.NotAllowed(_("The visit must end after it starts."))
    if start_at <= now:
        raise workflow.NotAllowed(_("Propose a time in the future."))


@transaction.atomic
def take_step(
    ticket: Ticket,
    user: User,
    name: str,
    *,
    slot_start: datetime | None = None,
    slot_end: datetime | None = None,
    courier: str = "",
    tracking: str = "",
    note: str = "",
) -> Repair:
    """One step of the repair, by the shop or the technician, with its event."""
    step = STEPS[name]
    t = _lock(ticket)
    role = _role(t, user)
    repair = Repair.objects.select_for_update().filter(ticket=t).first()
    if repair is None:
        raise workflow.NotAllowed(_("No repair has been arranged for this ticket yet."))
    if role not in step.roles or name not in allowed_steps(repair, t, role):
        raise workflow.NotAllowed(
            _("“%(step)s” is not possible now: %(current)s.")
            % {"step": step.label, "current": repair.get_step_display().lower()}
        )
    now = timezone.now()
    data: dict[str, str] = {"method": repair.method}
    body = ""
    if name == "propose":
        _check_slot(slot_start, slot_end, now)
        repair.slot_start, repair.slot_end = slot_start, slot_end
        repair.counter_start = repair.counter_end = None
        data |= {"start": _iso(slot_start), "end": _iso(slot_end)}
    elif name == "counter":
        _check_slot(slot_start, slot_end, now)
        repair.counter_start, repair.counter_end = slot_start, slot_end
        data |= {"start": _iso(slot_start), "end": _iso(slot_end)}
        body = (note or "").strip()
        if contains_card_number(body):
            raise workflow.NotAllowed(str(CARD_NUMBER_MESSAGE))
    elif name == "accept_counter":
        repair.slot_start, repair.slot_end = repair.counter_start, repair.counter_end
        repair.counter_start = repair.counter_end = None
        repair.confirmed_at = now
        data |= {"start": _iso(repair.slot_start), "end": _iso(repair.slot_end)}
    elif name == "confirm":
        if repair.slot_start is None or repair.slot_start <= now:
            raise workflow.NotAllowed(_("This time has passed: the technician proposes another."))
        repair.confirmed_at = now
        data |= {"start": _iso(repair.slot_start), "end": _iso(repair.slot_end)}
    elif name == "visited":
        repair.visited_at = now
    elif name == "received":
        repair.received_at = now
    elif name == "repaired":
        repair.repaired_at = now
    elif name == "ship_back":
        if not (courier.strip() and tracking.strip()):
            raise workflow.NotAllowed(_("Give the courier and the tracking number."))
        repair.courier_out, repair.tracking_out = courier.strip(), tracking.strip()
        repair.shipped_at = now
        data |= {"courier": repair.courier_out, "tracking": repair.tracking_out}
    elif name == "delivered":
        repair.delivered_at = now
    elif name == "old_returned":
        repair.old_returned_at = now
    repair.step = step.target
    repair.step_at = now
    repair.full_clean(exclude=["ticket", "created_by"])
    repair.save()
    events.record(t, step.kind, user, body, data=data)
    return repair
