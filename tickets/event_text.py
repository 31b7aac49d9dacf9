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


def _incident_title(data: dict) -> str:
    """What an incident is about, from the facts its events carry (outages.services):
    the technician's summary in the reader's language if they wrote one, else the
    symptom in words."""
    from django.utils.translation import get_language

    from tickets.models import Category, symptom_label

    chinese = (get_language() or "").startswith("zh")
    typed = (data.get("summary_zh_hans") if chinese else data.get("summary")) or (
        data.get("summary") or data.get("summary_zh_hans")
    )
    if typed:
        # The sentences around it end it: "…故障。" typed with its full stop reads once.
        return typed.rstrip("。.！!？?")
    category, symptoms = data.get("category", ""), data.get("symptoms") or []
    if len(symptoms) == 1:
        return symptom_label(category, symptoms[0])
    return str(Category(category).label) if category in Category.values else ""


def _incident_area(data: dict) -> str:
    city, district = data.get("city", ""), data.get("district", "")
    if not city:
        return _("all areas")
    return f"{city} · {district}" if district else city


def _incident_typed(event: TicketEvent) -> str:
    """The update's text in the reader's language when the technician wrote it."""
    from django.utils.translation import get_language

    chinese = (get_language() or "").startswith("zh")
    zh = event.data.get("body_zh_hans", "")
    return (zh if chinese else event.body) or event.body or zh


def _incident(event: TicketEvent) -> str:
    data = event.data
    facts = {
        "title": _incident_title(data),
        "area": _incident_area(data),
        "provider": data.get("provider_name", ""),
    }
    if event.kind == K.INCIDENT_LINKED:
        started = timezone.localtime(datetime.fromisoformat(data["since"]))
        # The time alone the same day; with the day once it is older (read the next morning).
        same_day = started.date() == timezone.localtime(event.created_at).date()
        since = started.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M")
        return _(
            "Linked to a known problem since %(since)s: %(title)s in %(area)s, handled by "
            "%(provider)s. Its updates come here."
        ) % {**facts, "since": since}
    typed = _incident_typed(event)
    if event.kind == K.RESOLVED:
        said = _("The known problem is fixed: %(title)s.") % facts
    elif data.get("update_kind") == "confirmed":
        said = _("%(provider)s confirmed the known problem: %(title)s in %(area)s.") % facts
    else:
        said = _("Update on the known problem: %(title)s.") % facts
    return f"{said} {typed}" if typed else said


def _slot(data: dict) -> str:
    """ "Tuesday 2027-01-05 10:00–12:00", in the reader's language and time zone."""
    from django.utils.dateformat import format as date_format

    start = timezone.localtime(datetime.fromisoformat(data["start"]))
    end = timezone.localtime(datetime.fromisoformat(data["end"]))
    if start.date() == end.date():
        return f"{date_format(start, 'l Y-m-d H:i')}–{end:%H:%M}"
    return f"{date_format(start, 'l Y-m-d H:i')} – {date_format(end, 'l Y-m-d H:i')}"


def _repair(event: TicketEvent) -> str:
    """A step of the repair's logistics (repairs.services), from the facts it stored."""
    data = event.data
    kind = event.kind
    said = ""
    if kind == K.REPAIR_VISIT:
        said = _("A technician proposes to visit %(slot)s.") % {"slot": _slot(data)}
    elif kind == K.REPAIR_COUNTERED:
        said = _("The shop proposes %(slot)s instead.") % {"slot": _slot(data)}
    elif kind == K.REPAIR_CONFIRMED:
        said = _("Technician visit confirmed for %(slot)s.") % {"slot": _slot(data)}
    elif kind == K.REPAIR_VISITED:
        said = _("The technician visited the shop.")
    elif kind == K.REPAIR_SEND_IN:
        said = (
            _("Send the terminal to %(address)s by %(courier)s, tracking number %(tracking)s.")
            % data
        )
    elif kind == K.REPAIR_RECEIVED:
        said = _("The repair centre received the terminal.")
    elif kind == K.REPAIR_REPAIRED:
        said = _("The terminal is repaired and will be shipped back.")
    elif kind == K.REPAIR_SHIPPED:
        said = (
            _("The terminal is on its way back by %(courier)s, tracking number %(tracking)s.")
            % data
        )
    elif kind == K.REPAIR_SWAP:
        said = (
            _(
                "A replacement terminal (serial %(serial)s) is on its way by %(courier)s, tracking "
                "number %(tracking)s."
            )
            % data
        )
    elif kind == K.REPAIR_DELIVERED:
        said = (
            _("The shop received the replacement terminal.")
            if data.get("method") == "swap"
            else _("The shop received its terminal back.")
        )
    elif kind == K.REPAIR_OLD_RETURNED:
        said = _("The old terminal is back with the provider, to be repaired or recycled safely.")
    return f"{said} {event.body}" if event.body else said


REPAIR_KINDS = frozenset(
    {
        K.REPAIR_VISIT,
        K.REPAIR_COUNTERED,
        K.REPAIR_CONFIRMED,
        K.REPAIR_VISITED,
        K.REPAIR_SEND_IN,
        K.REPAIR_RECEIVED,
        K.REPAIR_REPAIRED,
        K.REPAIR_SHIPPED,
        K.REPAIR_SWAP,
        K.REPAIR_DELIVERED,
        K.REPAIR_OLD_RETURNED,
    }
)


def _by_email(event: TicketEvent) -> str:
    """A reply that came by e-mail (mail.inbound), with what PosDesk did to it."""
    data = event.data
    notes = [event.body]
    if data.get("card_numbers_cut"):
        notes.append(_("(A card number was cut to its last four digits: PosDesk never keeps one.)"))
    if data.get("attachments_refused"):
        notes.append(
            _("(Attachments not kept: %(names)s. Only photos, PDF and plain text are accepted.)")
            % {"names": ", ".join(data["attachments_refused"])}
        )
    return "\n\n".join(notes)


def event_text(event: TicketEvent) -> str:
    data = event.data or {}
    if data.get("via") == "email" and event.kind in (K.MERCHANT_REPLY, K.REPLY):
        return _by_email(event)
    if event.kind in REPAIR_KINDS and "method" in data:
        return _repair(event)
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
    if event.kind == K.INCIDENT_LINKED and "since" in data:
        return _incident(event)
    if event.kind in (K.INCIDENT_UPDATE, K.RESOLVED) and "incident" in data:
        return _incident(event)
    if event.kind == K.CANCELLED and "reason" in data:
        return _withdrawn(event)
    if event.kind == K.CLOSED and "auto_close_days" in data:
        return _("Closed automatically: no answer %(days)d days after the fix.") % {
            "days": data["auto_close_days"]
        }
    return event.body
