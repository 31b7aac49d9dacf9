"""SLA services: breach marking, closing tickets nobody answered, and the clock shown on lists.

Due times come from the queue's targets (`Ticket.set_sla_due`); the workflow stops the
clock while the ticket waits on the merchant. The beat tasks in `tickets/tasks.py`
call the two services here with the current time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import events, workflow
from tickets.models import Ticket, TicketEvent, TicketQuerySet

logger = logging.getLogger(__name__)

AUTO_CLOSE_DAYS = 7
# One beat run does a bounded amount of work; the next run carries on.
BATCH = 500


@dataclass(frozen=True)
class Breach:
    which: str
    due_field: str
    marked_field: str
    label: object

    def late_q(self, now: datetime) -> Q:
        late = {
            "first_response": TicketQuerySet.first_response_late_q,
            "resolution": TicketQuerySet.resolution_late_q,
        }[self.which]
        return (
            Q(status__in=TicketQuerySet.OPEN_STATUSES)
            & Q(**{f"{self.marked_field}__isnull": True})
            & late(now)
        )


BREACHES = (
    Breach(
        "first_response",
        "first_response_due",
        "first_response_breached_at",
        gettext_lazy("First response"),
    ),
    Breach("resolution", "resolution_due", "resolution_breached_at", gettext_lazy("Resolution")),
)


def mark_breaches(now: datetime | None = None) -> int:
    """Mark each open ticket's first-response and resolution breach once, with an internal
    `sla_breached` event (which tells the provider's technicians). Returns how many."""
    now = now or timezone.now()
    marked = 0
    for breach in BREACHES:
        pks = list(
            Ticket.objects.filter(breach.late_q(now))
            .order_by(breach.due_field)
            .values_list("pk", flat=True)[:BATCH]
        )
        for pk in pks:
            marked += _mark_one(pk, breach, now)
    return marked


def _mark_one(pk: int, breach: Breach, now: datetime) -> int:
    with transaction.atomic():
        # The condition is checked again under the lock: a technician may have answered,
        # or a second beat run marked it, since the candidates were read. A row being
        # edited right now is skipped, not waited for: the next run sees it.
        ticket = (
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("queue")
            .filter(breach.late_q(now), pk=pk)
            .first()
        )
        if ticket is None:
            return 0
        due = getattr(ticket, breach.due_field)
        setattr(ticket, breach.marked_field, now)
        ticket.save(update_fields=[breach.marked_field])
        events.record(
            ticket,
            TicketEvent.Kind.SLA_BREACHED,
            None,
            public=False,
            data={"which": breach.which, "due": due.isoformat(), "queue_name": ticket.queue.name},
        )
        return 1


def close_stale_resolved(now: datetime | None = None, days: int = AUTO_CLOSE_DAYS) -> int:
    """Close tickets resolved at least `days` ago that the merchant never confirmed or
    reopened, each with a `closed` event saying so. Returns how many."""
    now = now or timezone.now()
    stale = (
        Ticket.objects.filter(status=Ticket.Status.RESOLVED, resolved_at__lte=now - timedelta(days))
        .order_by("resolved_at")
        .only("pk")[:BATCH]
    )
    closed = 0
    for ticket in stale:
        try:
            workflow.auto_close(ticket, days, now=now)
        except workflow.NotAllowed as refused:
            # Confirmed or reopened by the merchant meanwhile: nothing to do.
            logger.info("Not auto-closing %s: %s", ticket.pk, refused)
            continue
        closed += 1
    return closed


# What a list row shows ---------------------------------------------------------------


@dataclass(frozen=True)
class SlaClock:
    """The SLA as a technician reads it on a row: what is due next and how long is left."""

    due: datetime | None
    overdue: bool
    paused: bool
    text: str


def clock(ticket: Ticket, now: datetime) -> SlaClock:
    """From the ticket's fields alone (no query). Uses the `sla_due` annotation of
    `with_sla_due` when present, so a list and its rows agree."""
    if ticket.status not in TicketQuerySet.OPEN_STATUSES:
        return SlaClock(None, False, False, "")
    due = getattr(ticket, "sla_due", None) or _next_due(ticket, now)
    if due is None:
        return SlaClock(None, False, False, "")
    left = due - now
    paused = ticket.sla_paused_at is not None
    if left < timedelta(0):
        text = _("overdue by %(time)s") % {"time": duration_text(-left)}
        return SlaClock(due, True, paused, text)
    if paused:
        return SlaClock(due, False, True, _("paused"))
    return SlaClock(due, False, False, _("%(time)s left") % {"time": duration_text(left)})


def _next_due(ticket: Ticket, now: datetime) -> datetime | None:
    dues = [ticket.resolution_due]
    if ticket.first_responded_at is None:
        dues.append(ticket.first_response_due)
    dues = [d for d in dues if d is not None]
    if not dues:
        return None
    due = min(dues)
    if ticket.sla_paused_at is not None:
        due += now - ticket.sla_paused_at
    return due


def duration_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    return _("%(m)d min") % {"m": minutes}
