"""What people and tasks do with incidents, downtime and the offline sales log.

Tickets are touched only through `tickets.services`, `tickets.workflow` and the one
event writer (`tickets.events`): this app never writes a ticket row itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from mail import services as outbox
from outages.models import Downtime, Incident, IncidentTicket, IncidentUpdate, OfflineSale
from portal import broker
from tickets import events, notifications, workflow
from tickets import services as ticket_services
from tickets.models import Category, Ticket, TicketEvent
from tickets.pci import contains_card_number

if TYPE_CHECKING:
    from devices.models import Device, Merchant, Provider
    from portal.models import User


class Refused(Exception):
    """Input a form should have caught, or an action the incident's state does not allow;
    the message is for the user."""


# Linking ------------------------------------------------------------------------------


def incident_facts(incident: Incident) -> dict:
    """What a ticket's timeline needs to word an incident in any language, later."""
    return {
        "incident": incident.pk,
        "category": incident.category,
        "symptoms": list(incident.symptoms),
        "summary": incident.summary,
        "summary_zh_hans": incident.summary_zh_hans,
        "city": incident.city,
        "district": incident.district,
        "since": incident.starts_at.isoformat(),
        "provider_name": incident.provider.name,
    }


def link(incident: Incident, rows: Sequence[tuple[int, int, int | None]], *, via: str) -> int:
    """Link tickets (id, merchant id, provider id of their queue) that no incident holds
    yet, each with a public `incident_linked` event; in the caller's transaction and
    under its locks. Returns how many."""
    if not rows:
        return 0
    now = timezone.now()
    IncidentTicket.objects.bulk_create(
        [
            IncidentTicket(
                incident=incident, ticket_id=pk, merchant_id=merchant_id, via=via, linked_at=now
            )
            for pk, merchant_id, _provider in rows
        ],
        batch_size=events.MANY_BATCH,
    )
    events.record_many(
        [(pk, provider) for pk, _merchant, provider in rows],
        TicketEvent.Kind.INCIDENT_LINKED,
        data=incident_facts(incident),
    )
    return len(rows)


def shops_affected(incident: Incident) -> int:
    return incident.links.values("merchant_id").distinct().count()


def with_shop_counts(incidents):  # noqa: ANN001, ANN201 - a queryset in, the same out
    return incidents.annotate(shops=Count("links__merchant", distinct=True))


# Alerts -------------------------------------------------------------------------------


def alert_technicians(incident: Incident) -> list[int]:
    """Tell the provider's technicians a suspected incident was opened (outbox, on commit)."""
    recipients = list(notifications.provider_technicians(incident.provider_id))
    context = {
        "incident": incident,
        "shops": shops_affected(incident),
        "link": notifications.absolute(incident.get_absolute_url()),
        "site_url": settings.SITE_URL,
    }
    return outbox.queue(
        outbox.compose(
            "incident_opened",
            recipients,
            context,
            directory="outages/email",
            key=f"incident-opened:{incident.pk}",
        )
    )


# Technicians and admins ---------------------------------------------------------------


def declare(
    *,
    provider: Provider,
    user: User | None,
    category: str,
    symptoms: Sequence[str] = (),
    city: str = "",
    district: str = "",
    summary: str = "",
    summary_zh_hans: str = "",
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    next_update_at: datetime | None = None,
    maintenance: bool = False,
) -> Incident:
    """A technician (or an admin) declares an incident by hand: an outage they know of,
    or planned maintenance with a start and end. It is confirmed from the start, and
    open tickets it already covers are linked to it."""
    if category not in Category.values:
        raise Refused(_("Choose the kind of fault."))
    if not (summary.strip() or summary_zh_hans.strip()):
        raise Refused(_("Say what is wrong, in English or Chinese."))
    for text in (summary, summary_zh_hans, city, district):
        if contains_card_number(text):
            raise Refused(_("Never write a full card number."))
    now = timezone.now()
    starts_at = starts_at or now
    if ends_at is not None and ends_at <= starts_at:
        raise Refused(_("The end must be after the start."))
    if maintenance and ends_at is None:
        raise Refused(_("Planned maintenance needs an end."))
    with transaction.atomic():
        incident = Incident.objects.create(
            provider=provider,
            category=category,
            symptoms=sorted(set(symptoms)),
            city=" ".join(city.split()),
            district=" ".join(district.split()),
            summary=summary.strip(),
            summary_zh_hans=summary_zh_hans.strip(),
            status=Incident.Status.CONFIRMED,
            source=Incident.Source.MAINTENANCE if maintenance else Incident.Source.DECLARED,
            starts_at=starts_at,
            ends_at=ends_at,
            next_update_at=next_update_at,
            opened_by=user,
            confirmed_at=now,
            created_at=now,
        )
        IncidentUpdate.objects.create(
            incident=incident, kind=IncidentUpdate.Kind.OPENED, author=user, public=False
        )
        if starts_at <= now:
            link_open_tickets(incident)
        return incident


def link_open_tickets(incident: Incident) -> int:
    """Link the open tickets an incident covers that no incident holds yet (the same
    rule as outages.detection.matching_incidents, as a filter)."""
    candidates = (
        Ticket.objects.filter(
            queue__provider_id=incident.provider_id,
            category=incident.category,
            status__in=workflow.OPEN,
            incident_link__isnull=True,
        )
        .select_for_update(of=("self",), no_key=True)
        .values_list("pk", "merchant_id", "symptom", "merchant__city", "merchant__district")
    )
    if incident.symptoms:
        candidates = candidates.filter(symptom__in=incident.symptoms)
    if incident.city:
        candidates = candidates.filter(merchant__city__iexact=incident.city)
    if incident.district:
        candidates = candidates.filter(merchant__district__iexact=incident.district)
    rows = [(pk, merchant, incident.provider_id) for pk, merchant, *_rest in candidates]
    return link(incident, rows, via=IncidentTicket.Via.DETECTED)


def _locked(incident: Incident) -> Incident:
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("provider")
        .get(pk=incident.pk)
    )


def confirm(incident: Incident, user: User, body: str = "", body_zh_hans: str = "") -> Incident:
    """The provider knows it is real: said to every linked shop."""
    with transaction.atomic():
        incident = _locked(incident)
        if incident.status != Incident.Status.SUSPECTED:
            raise Refused(_("Only a suspected incident can be confirmed."))
        incident.status = Incident.Status.CONFIRMED
        incident.confirmed_at = timezone.now()
        incident.save(update_fields=["status", "confirmed_at"])
        _public_update(incident, user, IncidentUpdate.Kind.CONFIRMED, body, body_zh_hans)
        return incident


def post_update(
    incident: Incident,
    user: User,
    body: str,
    body_zh_hans: str = "",
    *,
    public: bool = True,
    next_update_at: datetime | None = None,
) -> IncidentUpdate:
    """A public update goes to every linked ticket's timeline and to each shop by e-mail
    (outages.fanout, in one task); an internal one stays with the provider."""
    with transaction.atomic():
        incident = _locked(incident)
        if not incident.is_open:
            raise Refused(_("This incident is resolved."))
        if not (body.strip() or body_zh_hans.strip()):
            raise Refused(_("Write the update, in English or Chinese."))
        if next_update_at is not None:
            incident.next_update_at = next_update_at
            incident.save(update_fields=["next_update_at"])
        kind = IncidentUpdate.Kind.UPDATE if public else IncidentUpdate.Kind.NOTE
        return _public_update(incident, user, kind, body, body_zh_hans, public=public)


def resolve(incident: Incident, user: User, body: str = "", body_zh_hans: str = "") -> Incident:
    """It is over: its open tickets are resolved (each merchant can still reopen theirs),
    their downtime ends, and each shop is told once (outages.fanout)."""
    with transaction.atomic():
        incident = _locked(incident)
        if not incident.is_open:
            raise Refused(_("This incident is resolved already."))
        incident.status = Incident.Status.RESOLVED
        incident.resolved_at = timezone.now()
        incident.next_update_at = None
        incident.save(update_fields=["status", "resolved_at", "next_update_at"])
        _public_update(incident, user, IncidentUpdate.Kind.RESOLVED, body, body_zh_hans)
        return incident


def _public_update(
    incident: Incident,
    user: User | None,
    kind: str,
    body: str,
    body_zh_hans: str,
    *,
    public: bool = True,
) -> IncidentUpdate:
    for text in (body, body_zh_hans):
        if contains_card_number(text):
            raise Refused(_("Never write a full card number."))
    update = IncidentUpdate.objects.create(
        incident=incident,
        kind=kind,
        author=user,
        body=body.strip(),
        body_zh_hans=body_zh_hans.strip(),
        public=public,
    )
    if public:
        transaction.on_commit(partial(enqueue_fan_out, update.pk), robust=True)
    return update


def enqueue_fan_out(update_id: int) -> bool:
    from outages.tasks import fan_out_update

    return broker.publish(fan_out_update, update_id)


def sweep_updates(now: datetime | None = None) -> int:
    """Queue again the fan-out of public updates left unsent (a broker outage, a lost
    worker) for longer than OUTAGES_FAN_OUT_GRACE_SECONDS."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.OUTAGES_FAN_OUT_GRACE_SECONDS)
    ids = list(
        IncidentUpdate.objects.filter(
            public=True, fanned_out_at__isnull=True, created_at__lte=now - grace
        ).values_list("pk", flat=True)[:100]
    )
    return sum(1 for pk in ids if enqueue_fan_out(pk))


# Merchants ----------------------------------------------------------------------------


def handlers_of(device: Device) -> list[int]:
    """Providers whose queues take this terminal's tickets: its provider, its acquirer."""
    return [pk for pk in (device.provider_id, device.acquirer_id) if pk is not None]


def incidents_for(device: Device, category: str, now: datetime | None = None) -> list[Incident]:
    """Open incidents under way that cover this terminal's shop and kind of fault."""
    merchant = device.merchant
    found = (
        with_shop_counts(Incident.objects.started(now or timezone.now()))
        .filter(provider_id__in=handlers_of(device), category=category)
        .select_related("provider")
        .order_by("starts_at", "pk")
    )
    return [incident for incident in found if incident.covers_area(merchant)]


def me_too(
    incident: Incident,
    *,
    merchant: Merchant,
    device: Device,
    user: User,
    submission_token: uuid.UUID | None = None,
) -> Ticket:
    """One tap: a ticket for this terminal, linked to the incident, with no more questions.
    The terminal's open ticket for the fault is linked instead, if it has one."""
    if device.merchant_id != merchant.pk:
        raise Refused(_("This terminal is not one of your shop's."))
    if incident.pk not in {found.pk for found in incidents_for(device, incident.category)}:
        raise Refused(_("This known problem does not concern this terminal."))
    symptom = incident.symptoms[0] if incident.symptoms else "other"
    with transaction.atomic():
        try:
            ticket, created = ticket_services.file_ticket(
                merchant=merchant,
                device=device,
                reporter=user,
                category=incident.category,
                symptom=symptom,
                can_take_payments=Ticket.Payments.NO,
                description="",
                callback_phone=merchant.contact_phone or user.phone,
                submission_token=submission_token,
            )
        except ticket_services.AlreadyOpen as already:
            ticket = already.ticket
        if not IncidentTicket.objects.filter(ticket=ticket).exists():
            link(
                incident,
                [(ticket.pk, merchant.pk, ticket.queue.provider_id if ticket.queue_id else None)],
                via=IncidentTicket.Via.ME_TOO,
            )
        return ticket


def payments_back(ticket: Ticket, user: User) -> Downtime:
    """The shop takes card payments again (the ticket may go on): its downtime ends."""
    with transaction.atomic():
        downtime = Downtime.objects.select_for_update().filter(ticket=ticket).first()
        if downtime is None or not downtime.is_open:
            raise Refused(_("This ticket does not say the shop cannot take payments."))
        try:
            workflow.payments_back(ticket, user)
        except workflow.NotAllowed as refused:
            raise Refused(str(refused)) from None
        downtime.ended_at = max(timezone.now(), downtime.started_at)
        downtime.ended_how = Downtime.End.MERCHANT
        downtime.save(update_fields=["ended_at", "ended_how"])
        return downtime


def start_downtime(ticket: Ticket, since: datetime | None = None) -> Downtime | None:
    """At filing, when the shop cannot take payments: from `since` (no later than now, no
    earlier than OUTAGES_DOWNTIME_MAX_BACK_HOURS before) or from the filing."""
    if ticket.can_take_payments != Ticket.Payments.NO:
        return None
    filed = ticket.created_at
    started = filed
    if since is not None:
        earliest = filed - timedelta(hours=settings.OUTAGES_DOWNTIME_MAX_BACK_HOURS)
        started = min(max(since, earliest), filed)
    device = ticket.device
    return Downtime.objects.create(
        ticket=ticket,
        merchant_id=ticket.merchant_id,
        provider_id=device.provider_id,
        device_model_id=device.model_id,
        city=ticket.merchant.city.strip(),
        started_at=started,
    )


def end_downtimes(ticket_ids: Sequence[int], at: datetime, how: str) -> int:
    ended = {
        Ticket.Status.RESOLVED: Downtime.End.RESOLVED,
        Ticket.Status.CLOSED: Downtime.End.CLOSED,
        Ticket.Status.CANCELLED: Downtime.End.CANCELLED,
    }.get(how, Downtime.End.RESOLVED)
    return Downtime.objects.filter(
        ticket_id__in=list(ticket_ids), ended_at__isnull=True, started_at__lte=at
    ).update(ended_at=at, ended_how=ended)


# The offline sales log ----------------------------------------------------------------


def may_log_sales(ticket: Ticket, downtime: Downtime | None, now: datetime | None = None) -> bool:
    """While the shop cannot take card payments, and for OUTAGES_OFFLINE_LOG_DAYS after,
    to enter what was noted on paper meanwhile."""
    if downtime is None:
        return False
    if downtime.is_open:
        return True
    late = timedelta(days=settings.OUTAGES_OFFLINE_LOG_DAYS)
    return (now or timezone.now()) <= downtime.ended_at + late


def log_sale(
    ticket: Ticket,
    user: User,
    *,
    sold_at: datetime,
    amount: Decimal,
    method: str,
    note: str = "",
    card_last4: str = "",
) -> OfflineSale:
    downtime = Downtime.objects.filter(ticket=ticket).first()
    if not may_log_sales(ticket, downtime):
        raise Refused(_("Sales are logged here only while the shop cannot take card payments."))
    if method not in OfflineSale.Method.values:
        raise Refused(_("Choose how the customer paid."))
    if amount is None or amount <= 0:
        raise Refused(_("Enter an amount above zero."))
    if contains_card_number(note) or contains_card_number(card_last4):
        raise Refused(_("Never write a full card number."))
    if card_last4 and not (len(card_last4) == 4 and card_last4.isdigit()):
        raise Refused(_("Enter only the card's last four digits."))
    now = timezone.now()
    if sold_at > now + timedelta(minutes=5):
        raise Refused(_("The time of the sale cannot be in the future."))
    if sold_at < downtime.started_at - timedelta(days=1):
        raise Refused(_("This sale is from before the terminal stopped."))
    return OfflineSale.objects.create(
        ticket=ticket,
        sold_at=sold_at,
        amount=amount,
        method=method,
        note=note.strip(),
        card_last4=card_last4,
        recorded_by=user,
    )


def sales_totals(sales: Sequence[OfflineSale]) -> list[tuple[str, int, Decimal]]:
    """(method label, count, total) per method used, in the order of the choices."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for sale in sales:
        count, total = totals.get(sale.method, (0, Decimal("0")))
        totals[sale.method] = (count + 1, total + sale.amount)
    return [
        (str(label), *totals[value])
        for value, label in OfflineSale.Method.choices
        if value in totals
    ]
