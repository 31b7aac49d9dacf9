"""What a timeline entry says, in the reader's language.

Events store facts (codes, ids, dates, numbers); only what a person wrote is stored as
text. The sentences PosDesk itself says (why a ticket was routed, an SLA breach, an
automatic close) are built here when the event is read, so a shop owner reading
Chinese never meets an English sentence written in the worker's language.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Ticket, TicketEvent

K = TicketEvent.Kind


def _routing(event: TicketEvent) -> str:
    from tickets.routing import explain_facts

    facts = event.data.get("facts")
    return explain_facts(facts) if facts else event.body


def _rerouted(event: TicketEvent) -> str:
    why = _routing(event)
    if event.data.get("rerouted") == "same_queue":
        return _("Re-routed by an admin: the rules still name %(queue)s. %(why)s") % {
            "queue": event.data.get("queue_name", ""),
            "why": why,
        }
    return _("Re-routed by the PosDesk team. %(why)s") % {"why": why}


def _breach(event: TicketEvent) -> str:
    from tickets.sla import BREACHES

    labels = {breach.which: breach.label for breach in BREACHES}
    due = datetime.fromisoformat(event.data["due"])
    return _("%(which)s overdue: it was due %(due)s (%(queue)s).") % {
        "which": labels.get(event.data.get("which"), event.data.get("which", "")),
        "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
        "queue": event.data.get("queue_name", ""),
    }


def _withdrawn(event: TicketEvent) -> str:
    code = event.data["reason"]
    if code not in Ticket.CancelReason.values or code == Ticket.CancelReason.OTHER:
        return event.body
    label = str(Ticket.CancelReason(code).label)
    if not event.body:
        return label
    return _("%(reason)s: %(details)s") % {"reason": label, "details": event.body}


def event_text(event: TicketEvent) -> str:
    data = event.data or {}
    if event.kind == K.ROUTED and "facts" in data:
        return _routing(event)
    if data.get("rerouted") and "facts" in data:
        return _rerouted(event)
    if event.kind == K.SLA_BREACHED and "due" in data and not event.body:
        return _breach(event)
    if event.kind == K.ROUTING_FAILED and "attempts" in data and not event.body:
        return _("Routing did not succeed after %(n)d attempts: an admin must route it.") % {
            "n": data["attempts"]
        }
    if event.kind == K.CANCELLED and "reason" in data:
        return _withdrawn(event)
    if event.kind == K.CLOSED and "auto_close_days" in data:
        return _("Closed automatically: no answer %(days)d days after the fix.") % {
            "days": data["auto_close_days"]
        }
    return event.body
