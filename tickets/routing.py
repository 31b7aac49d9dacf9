"""Which queue handles a ticket, and why: the rules of DESIGN.md "Routing".

`decide()` evaluates the active `RoutingRule` rows in order (first match wins)
and resolves the rule's queue kind against the device's provider or acquirer.
When no rule fits, or the party has no such queue, the ticket goes to the
platform triage queue with `needs_admin` set. `route()` applies a decision once
(a task delivered twice must not route twice); `reroute()` is the admin's
"Re-route selected tickets".
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from devices.models import Device
from devices.warranty import WarrantyStatus, warranty_label
from tickets import events
from tickets.models import (
    Category,
    Queue,
    RoutingRule,
    Ticket,
    TicketEvent,
    priority_for,
)

if TYPE_CHECKING:
    from datetime import datetime

    from devices.models import Provider
    from portal.models import User

logger = logging.getLogger(__name__)

UNRESOLVED = (
    Ticket.Status.NEW,
    Ticket.Status.QUEUED,
    Ticket.Status.IN_PROGRESS,
    Ticket.Status.WAITING_MERCHANT,
)


@dataclass(frozen=True)
class Decision:
    """Where a ticket goes. `rule` is None and `needs_admin` True for the fallback.

    `facts` say why in codes, names and numbers (stored on the ticket and its `routed`
    event); `explain_facts` turns them into a sentence in the reader's language.
    """

    queue: Queue
    rule: RoutingRule | None
    billable: bool | None
    needs_admin: bool
    facts: dict

    @property
    def explanation(self) -> str:
        return explain_facts(self.facts)


# Rule evaluation ------------------------------------------------------------------------


def rule_matches(rule: RoutingRule, ticket: Ticket) -> bool:
    """An empty category, warranty or provider on the rule matches anything."""
    if rule.category and rule.category != ticket.category:
        return False
    if rule.warranty and rule.warranty != ticket.warranty_status:
        return False
    if rule.provider_id is not None and rule.provider_id != ticket.device.provider_id:
        return False
    return True


def target_party(rule: RoutingRule, device: Device) -> Provider | None:
    """The provider whose queue the rule means; None for the platform or a missing acquirer."""
    if rule.target_party == RoutingRule.Party.PROVIDER:
        return device.provider
    if rule.target_party == RoutingRule.Party.ACQUIRER:
        return device.acquirer
    return None


def resolve_queue(rule: RoutingRule, device: Device) -> Queue | None:
    if rule.target_party == RoutingRule.Party.PLATFORM:
        party_id = None
    else:
        party = target_party(rule, device)
        if party is None:
            return None
        party_id = party.pk
    queues = routing_table().queues
    key = (party_id, rule.target_kind)
    if key not in queues:
        queues[key] = (
            Queue.objects.select_related("provider", "calendar")
            .filter(provider_id=party_id, kind=rule.target_kind, active=True)
            .first()
        )
    return queues[key]


# The routing table, cached in each process (issue 18: two queries less per routing) ----


@dataclass
class RoutingTable:
    """The active rules in order, and the queues looked up so far by (party, kind)."""

    version: str
    rules: list[RoutingRule]
    queues: dict[tuple[int | None, str], Queue | None] = field(default_factory=dict)


ROUTING_VERSION_KEY = "routing-table-version"
_table: RoutingTable | None = None


def routing_table() -> RoutingTable:
    """This process's copy, read again when the shared version changed: a save or delete
    of a rule, queue, calendar, holiday or provider anywhere (the admin, a shell) sets a
    new version in the shared cache (CACHE_URL), which every worker checks once per
    routing, one cache read instead of the two queries."""
    global _table
    version = cache.get(ROUTING_VERSION_KEY)
    if version is None:
        cache.add(ROUTING_VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(ROUTING_VERSION_KEY)
    if _table is None or _table.version != version or version is None:
        rules = list(RoutingRule.objects.filter(active=True).order_by("order", "id"))
        _table = RoutingTable(version=version, rules=rules)
    return _table


def routing_changed(**kwargs: object) -> None:
    """A new version: every process reads the table again at its next routing."""
    global _table
    _table = None
    cache.set(ROUTING_VERSION_KEY, uuid.uuid4().hex, None)


def connect_invalidation() -> None:
    """Connected in every process (tickets.apps), whether it routes or only edits."""
    from devices.models import Provider
    from tickets.models import BusinessCalendar, Holiday

    for model in (RoutingRule, Queue, BusinessCalendar, Holiday, Provider):
        for signal in (post_save, post_delete):
            signal.connect(
                routing_changed, sender=model, dispatch_uid=f"routing_changed_{model.__name__}"
            )


def platform_triage_queue() -> Queue:
    """The last resort; recreated if an admin deleted it, so routing never fails for want of it."""
    queue, _created = Queue.objects.get_or_create(
        provider=None, kind=Queue.Kind.TRIAGE, defaults={"name": "Platform triage"}
    )
    return queue


def decide(ticket: Ticket) -> Decision:
    """Evaluate the active rules in order; the first one that matches decides."""
    device = ticket.device
    for rule in routing_table().rules:
        if not rule_matches(rule, ticket):
            continue
        queue = resolve_queue(rule, device)
        if queue is None:
            return _fallback(ticket, _missing_queue_reason(rule, device))
        return Decision(
            queue=queue,
            rule=rule,
            billable=rule.billable,
            needs_admin=False,
            facts=facts_for(ticket, queue, rule.billable),
        )
    return _fallback(ticket, {"code": "no_rule"})


def _missing_queue_reason(rule: RoutingRule, device: Device) -> dict:
    """Why the rule that fits names no queue, as facts (`fallback_phrase` words them)."""
    reason = {"rule": rule.name, "kind": rule.target_kind}
    if rule.target_party == RoutingRule.Party.ACQUIRER and device.acquirer_id is None:
        return {**reason, "code": "no_acquirer"}
    party = target_party(rule, device)
    if party is None:
        return {**reason, "code": "no_platform_queue"}
    return {**reason, "code": "no_active_queue", "provider": party.name}


def _fallback(ticket: Ticket, reason: dict) -> Decision:
    queue = platform_triage_queue()
    facts = {
        "fallback": reason,
        "first_reply": queue.first_response_minutes(ticket.priority),
    }
    return Decision(queue=queue, rule=None, billable=None, needs_admin=True, facts=facts)


# The explanation in plain words -------------------------------------------------------------


def format_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}
    if hours:
        return _("%(h)d h") % {"h": hours}
    return _("%(m)d min") % {"m": rest}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def facts_for(ticket: Ticket, queue: Queue, billable: bool | None) -> dict:
    """What the explanation rests on, as it stands when the ticket is routed."""
    return {
        "queue_kind": queue.kind,
        "provider": queue.provider.name if queue.provider else None,
        "billable": billable,
        "category": ticket.category,
        "first_reply": queue.first_response_minutes(ticket.priority),
        "warranty": {
            "status": ticket.warranty_status,
            "end": _day(ticket.warranty_end),
            "voided_on": _day(ticket.warranty_voided_on),
            "void_reason": ticket.warranty_void_reason,
            "check": ticket.warranty_check,
            "check_note": ticket.warranty_check_note,
            "to_verify": ticket.warranty_to_verify,
        },
    }


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def warranty_phrase(warranty: dict) -> str:
    status = warranty.get("status", WarrantyStatus.UNKNOWN)
    if status == WarrantyStatus.UNKNOWN:
        # The explanation goes on to say who checks the proof of purchase.
        return str(WarrantyStatus.UNKNOWN.label)
    label = warranty_label(
        status,
        end=_date(warranty.get("end")),
        voided_on=_date(warranty.get("voided_on")),
        void_reason=warranty.get("void_reason", ""),
        check=warranty.get("check", ""),
        check_note=warranty.get("check_note", ""),
    )
    if warranty.get("to_verify") and status == WarrantyStatus.IN:
        return _("%(label)s, as the merchant claims: the provider verifies it first") % {
            "label": label
        }
    return label


CATEGORY_PHRASES = {
    Category.TRANSACTION: lambda: _("Payment problem"),
    Category.NETWORK: lambda: _("Network fault"),
    Category.SOFTWARE: lambda: _("Software fault"),
}


def _kind_label(kind: str) -> str:
    return str(Queue.Kind(kind).label).lower() if kind in Queue.Kind.values else kind


def fallback_phrase(reason: dict) -> str:
    """Why no provider's queue was found, in words."""
    code = reason.get("code")
    if code == "no_acquirer":
        return _(
            "The rule “%(rule)s” sends it to the terminal's acquirer, but none is recorded"
        ) % {"rule": reason.get("rule", "")}
    if code == "no_platform_queue":
        return _("The rule “%(rule)s” names no %(kind)s queue of the platform") % {
            "rule": reason.get("rule", ""),
            "kind": _kind_label(reason.get("kind", "")),
        }
    if code == "no_active_queue":
        return _("The rule “%(rule)s” fits, but %(provider)s has no active %(kind)s queue") % {
            "rule": reason.get("rule", ""),
            "provider": reason.get("provider", ""),
            "kind": _kind_label(reason.get("kind", "")),
        }
    return _("No routing rule fits this ticket")


def explain_facts(facts: dict) -> str:
    """One sentence a merchant understands, in the active language: why this queue, who
    pays, how soon. Built when it is read, from the facts stored at routing."""
    sla = format_minutes(facts.get("first_reply", 0))
    if "fallback" in facts:
        return _(
            "%(reason)s: the PosDesk team will pass it to the right provider, "
            "first reply within %(sla)s."
        ) % {"reason": fallback_phrase(facts["fallback"]), "sla": sla}
    provider = facts.get("provider") or "PosDesk"
    kind = facts.get("queue_kind")
    if kind == Queue.Kind.WARRANTY_REPAIR:
        action = _("free repair by %(provider)s") % {"provider": provider}
    elif kind == Queue.Kind.PAID_REPAIR:
        action = _("paid repair by %(provider)s; you accept a quote before any work") % {
            "provider": provider
        }
    elif kind == Queue.Kind.TRANSACTION_SUPPORT:
        action = _("handled by %(provider)s, who acquires this terminal's payments") % {
            "provider": provider
        }
    elif kind == Queue.Kind.REMOTE_SUPPORT:
        action = _("remote support by %(provider)s") % {"provider": provider}
    else:
        action = _("%(provider)s checks the proof of purchase first") % {"provider": provider}
    warranty = facts.get("warranty", {})
    if kind in (Queue.Kind.WARRANTY_REPAIR, Queue.Kind.PAID_REPAIR, Queue.Kind.TRIAGE):
        lead = warranty_phrase(warranty)
    else:
        phrase = CATEGORY_PHRASES.get(facts.get("category"))
        lead = phrase() if phrase else warranty_phrase(warranty)
    if facts.get("billable") and kind != Queue.Kind.PAID_REPAIR:
        action = _("%(action)s (billable)") % {"action": action}
    return _("%(lead)s: %(action)s, first reply within %(sla)s.") % {
        "lead": lead,
        "action": action,
        "sla": sla,
    }


# Applying a decision ----------------------------------------------------------------------


def _lock(ticket_id: int) -> Ticket | None:
    # The lock is on the ticket row only: the device (read with it, one statement) and
    # the queue are read, not changed.
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("device__provider", "device__acquirer")
        .filter(pk=ticket_id)
        .first()
    )


def _apply(ticket: Ticket, decision: Decision, now: datetime) -> None:
    ticket.queue = decision.queue
    ticket.billable = decision.billable
    if (
        decision.billable is False
        and decision.rule is not None
        and decision.rule.warranty == WarrantyStatus.IN
        and ticket.warranty_to_verify
    ):
        # Free because of a warranty the merchant claims: undecided until the provider
        # verifies it (workflow.verify_warranty), and no repair work before that.
        ticket.billable = None
    ticket.needs_admin = decision.needs_admin
    ticket.routing_data = decision.facts
    ticket.routing_note = _note(decision)
    ticket.set_sla_due(now)


def _note(decision: Decision) -> str:
    """The sentence for the admin's ticket list and search, in the site's language; pages
    and e-mails word the facts for their own reader (Ticket.routing_explanation)."""
    with translation.override(settings.LANGUAGE_CODE):
        return decision.explanation


def _event_data(decision: Decision) -> dict:
    return {
        "queue": decision.queue.pk,
        "queue_name": decision.queue.name,
        "rule": decision.rule.pk if decision.rule else None,
        "rule_name": decision.rule.name if decision.rule else "",
        "billable": decision.billable,
        "needs_admin": decision.needs_admin,
        "facts": decision.facts,
    }


def route(ticket_id: int) -> Ticket | None:
    """Route a `new` ticket once. Safe to call twice: the second call changes nothing.

    Each call that finds the ticket unrouted is one attempt, counted in the transaction
    that holds its row lock, together with what came of it. A run that raises still
    commits its count (the routing itself is rolled back to a savepoint) and is raised
    again for the task to retry; after ROUTING_MAX_ATTEMPTS of them the ticket is
    flagged for an admin. A sweep that only queued the task counts nothing, nor does a
    run the database never saw (the connection broke, the worker was killed): an
    outage is not a routing failure. Routing a flagged ticket clears the flag.

    Returns the ticket, or None when it does not exist (any more).
    """
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket is None:
            logger.warning("route: ticket %s does not exist", ticket_id)
            return None
        # Already routed, or withdrawn before routing: nothing to do.
        if ticket.status != Ticket.Status.NEW or ticket.routed_at is not None:
            return ticket
        # Counted with the routing's own UPDATE of the row (one statement less per
        # filing), or after the savepoint's rollback when the run failed.
        ticket.route_attempts += 1
        try:
            with transaction.atomic():
                _route_locked(ticket)
        except Exception as error:
            if transaction.get_rollback():
                raise  # the transaction itself is broken: nothing can be recorded
            failure = error
            Ticket.objects.filter(pk=ticket.pk).update(route_attempts=ticket.route_attempts)
            _flag_if_exhausted(ticket_id, error)
        else:
            return ticket
    raise failure


def _route_locked(ticket: Ticket) -> None:
    # The priority follows the merchant's answer; the SLA text below depends on it.
    ticket.priority = priority_for(ticket.can_take_payments, ticket.symptom)
    decision = decide(ticket)
    now = timezone.now()
    recovered = ticket.routing_failed
    _apply(ticket, decision, now)
    ticket.status = Ticket.Status.QUEUED
    ticket.routed_at = now
    ticket.routing_failed = False
    ticket.save()
    events.record(ticket, TicketEvent.Kind.ROUTED, None, data=_event_data(decision))
    if recovered:
        # The admins were told it needs them; the timeline says it no longer does
        # (needs_admin now follows the decision alone).
        events.record(
            ticket,
            TicketEvent.Kind.ROUTING_RECOVERED,
            None,
            public=False,
            data={"attempts": ticket.route_attempts},
        )


def _flag_if_exhausted(ticket_id: int, error: Exception) -> None:
    """After ROUTING_MAX_ATTEMPTS failed runs: flag the ticket for an admin, once."""
    # Read again: the failed run changed the object in memory, not the row.
    ticket = _lock(ticket_id)
    if ticket.routing_failed or ticket.route_attempts < settings.ROUTING_MAX_ATTEMPTS:
        return
    ticket.routing_failed = True
    ticket.needs_admin = True
    ticket.save(update_fields=["routing_failed", "needs_admin", "updated_at"])
    events.record(
        ticket,
        TicketEvent.Kind.ROUTING_FAILED,
        None,
        public=False,
        data={"attempts": ticket.route_attempts, "error": type(error).__name__},
    )


def reroute(ticket_id: int, actor: User) -> Ticket | None:
    """An admin re-evaluates the rules for an unresolved ticket (after editing them).

    A ticket never routed is routed now. A routed one moves to the queue the rules
    name today: a `transferred` event when the queue changes (its technicians are
    told), an internal note when it stays, so the timeline always says it happened.
    """
    # The rules as they are now, even after an edit that sent no signal (a bulk update).
    routing_changed()
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket is None or ticket.status not in UNRESOLVED:
            return None
    if ticket.status == Ticket.Status.NEW:
        # A ticket flagged after failed runs: routed now, the flag cleared with an event.
        return route(ticket_id)
    with transaction.atomic():
        ticket = _lock(ticket_id)
        if ticket is None or ticket.status not in UNRESOLVED:
            return None
        # The priority follows the merchant's answer; the SLA text below depends on it.
        ticket.priority = priority_for(ticket.can_take_payments, ticket.symptom)
        decision = decide(ticket)
        now = timezone.now()
        old_queue_id = ticket.queue_id
        old_queue_name = ticket.queue.name if ticket.queue else ""
        if decision.queue.pk == old_queue_id:
            ticket.billable = decision.billable
            ticket.needs_admin = decision.needs_admin
            ticket.routing_data = decision.facts
            ticket.routing_note = _note(decision)
            ticket.save()
            events.record(
                ticket,
                TicketEvent.Kind.NOTE,
                actor,
                public=False,
                data=_event_data(decision) | {"rerouted": "same_queue"},
            )
            return ticket
        if ticket.status == Ticket.Status.WAITING_MERCHANT and ticket.sla_paused_at:
            ticket.sla_paused_at = None
        _apply(ticket, decision, now)
        ticket.status = Ticket.Status.QUEUED
        ticket.assigned_to = None
        ticket.save()
        data = _event_data(decision) | {
            "from_queue": old_queue_id,
            "from_queue_name": old_queue_name,
            "to_queue": decision.queue.pk,
            "to_queue_name": decision.queue.name,
        }
        events.record(
            ticket,
            TicketEvent.Kind.TRANSFERRED,
            actor,
            data=data | {"rerouted": "moved"},
        )
        return ticket
