"""Noticing an outage from the tickets, and linking tickets to a known one.

After a ticket is routed (`tickets.hooks.ticket_routed`, in the routing task) `check`
links it to an open incident of the provider whose queue holds it, for its area and
kind of fault. With none open, when the provider's threshold of different shops of one
city (`Provider.incident_shops`, default 3) reported the same group of symptoms within
its window (`Provider.incident_window_minutes`, default 15), it opens a *suspected*
incident, links those tickets and tells the provider's technicians.

Tickets arriving together never open two incidents for one cause: the check for a
cause (provider, city, symptom group) runs under a PostgreSQL advisory lock on that
key, so the second check waits and then finds the first one's incident; the partial
unique constraint `incident_one_open_detected_per_cause` is the last word (and SQLite's
only one: it has one writer at a time anyway).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from devices.models import Merchant, Provider
from outages import services
from outages.models import Incident, IncidentTicket, IncidentUpdate
from tickets import workflow
from tickets.models import Category, Ticket

logger = logging.getLogger(__name__)

# Faults many shops can share one cause of, by group: a payment host, a carrier's
# mobile network, the shops' lines, a bad software update, the acquirer's processing.
# Hardware never: three broken printers in one city are three printers.
GROUPS: dict[str, tuple[str, frozenset[str]]] = {
    "payment_host": (Category.NETWORK, frozenset({"host"})),
    "mobile": (Category.NETWORK, frozenset({"mobile"})),
    "line": (Category.NETWORK, frozenset({"wifi", "cable", "other"})),
    "update": (Category.SOFTWARE, frozenset({"update"})),
    "software": (Category.SOFTWARE, frozenset({"frozen", "slow", "error_code", "login", "other"})),
    "payments": (
        Category.TRANSACTION,
        frozenset({"charged_not_completed", "cancelled", "refund", "fees", "other"}),
    ),
}


def group_for(category: str, symptom: str) -> str | None:
    for name, (group_category, symptoms) in GROUPS.items():
        if group_category == category and symptom in symptoms:
            return name
    return None


def area_key(city: str) -> str:
    """One spelling per city: "Shanghai", " shanghai" and "SHANGHAI" are one area."""
    return " ".join(city.split()).lower()


def matching_incidents(
    *, provider_id: int, city: str, district: str, category: str, symptom: str, now: datetime
) -> list[Incident]:
    """Open incidents under way that cover this provider, place and fault, oldest first."""
    city, district = city.strip(), district.strip()
    candidates = (
        Incident.objects.started(now)
        .filter(provider_id=provider_id, category=category)
        .filter(Q(city="") | Q(city__iexact=city))
        .filter(Q(district="") | Q(district__iexact=district))
        .select_related("provider")
        .order_by("starts_at", "pk")
    )
    return [incident for incident in candidates if incident.matches_symptom(symptom)]


def _advisory_lock(key: str) -> None:
    """Wait for, then hold until the transaction ends, the lock on one cause."""
    if connection.vendor != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [number])


# How much wider than a provider's window `worth_checking` looks (see there).
WINDOW_SLACK = timedelta(minutes=1)


def worth_checking(ticket: Ticket, *, now: datetime | None = None) -> bool:
    """Whether a ticket just routed could join an incident or open one: two reads with no
    lock and no transaction, so that the ordinary filing (no incident, no cluster) skips
    `check`'s locked transaction of nine statements (issue 18).

    Both reads ask for more than `check` needs, so "no" is safe. An open incident of the
    provider for this kind of fault anywhere, not only in this area. Different shops with
    an open ticket of this cause within the provider's window plus WINDOW_SLACK, linked
    ones included: a check that opened an incident meanwhile linked its cluster, and
    those tickets still count here, so a ticket that raced with the opening goes on to
    `check` and finds the incident under the cause's lock, as before."""
    queue = ticket.queue
    if queue is None or queue.provider_id is None or ticket.status not in workflow.OPEN:
        return False
    now = now or timezone.now()
    if (
        Incident.objects.started(now)
        .filter(provider_id=queue.provider_id, category=ticket.category)
        .exists()
    ):
        return True
    group = group_for(ticket.category, ticket.symptom)
    if group is None:
        return False
    provider = queue.provider
    city = Merchant.objects.filter(pk=ticket.merchant_id).values(key=Lower(Trim("city")))
    shops = (
        _open_of_cause(provider, group, Subquery(city[:1]), now - WINDOW_SLACK)
        .values("merchant_id")
        .distinct()
        .count()
    )
    return shops >= provider.incident_shops


def _open_of_cause(provider: Provider, group: str, city_key: object, now: datetime) -> QuerySet:
    """Open tickets of the provider's queues with this group's faults, from the shops of
    one area (`city_key`, lower-cased and trimmed), filed within its window before `now`:
    what a cause's threshold counts (`_open_if_threshold`, and `worth_checking` first)."""
    category, symptoms = GROUPS[group]
    return Ticket.objects.annotate(city_key=Lower(Trim("merchant__city"))).filter(
        queue__provider_id=provider.pk,
        category=category,
        symptom__in=symptoms,
        city_key=city_key,
        created_at__gte=now - timedelta(minutes=provider.incident_window_minutes),
        status__in=workflow.OPEN,
    )


def check(ticket_id: int, *, now: datetime | None = None) -> Incident | None:
    """Link a routed ticket to its incident, opening a suspected one at the threshold.
    Returns the incident it is linked to, or None. Safe to run twice for a ticket."""
    now = now or timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",), no_key=True)
            .select_related("merchant", "queue__provider")
            .filter(pk=ticket_id)
            .first()
        )
        if (
            ticket is None
            or ticket.status not in workflow.OPEN
            or ticket.queue is None
            or ticket.queue.provider_id is None
        ):
            return None
        if IncidentTicket.objects.filter(ticket_id=ticket.pk).exists():
            return None
        # The usual case in an outage: its incident is open already. Linked under the
        # ticket's own row lock, without queueing on the cause's lock.
        if (incident := _link_to_open(ticket, now)) is not None:
            return incident
        group = group_for(ticket.category, ticket.symptom)
        key = area_key(ticket.merchant.city)
        if not group or not key:
            return None
        _advisory_lock(f"outages:{ticket.queue.provider_id}:{key}:{group}")
        # Looked at again under the lock: a check of the same cause that held it before
        # may have opened the incident, and linked this ticket with it.
        if IncidentTicket.objects.filter(ticket_id=ticket.pk).exists():
            return None
        if (incident := _link_to_open(ticket, now)) is not None:
            return incident
        return _open_if_threshold(ticket, group, key, now)


def _link_to_open(ticket: Ticket, now: datetime) -> Incident | None:
    found = matching_incidents(
        provider_id=ticket.queue.provider_id,
        city=ticket.merchant.city,
        district=ticket.merchant.district,
        category=ticket.category,
        symptom=ticket.symptom,
        now=now,
    )
    if not found:
        return None
    services.link(
        found[0],
        [(ticket.pk, ticket.merchant_id, ticket.queue.provider_id)],
        via=IncidentTicket.Via.DETECTED,
    )
    return found[0]


def _open_if_threshold(ticket: Ticket, group: str, key: str, now: datetime) -> Incident | None:
    provider = ticket.queue.provider
    category, _symptoms = GROUPS[group]
    rows = list(
        _open_of_cause(provider, group, key, now)
        .filter(created_at__lte=now, incident_link__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", "merchant_id", "created_at", "symptom")
    )
    shops = {merchant_id for _pk, merchant_id, _at, _symptom in rows}
    if len(shops) < provider.incident_shops:
        return None
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                provider=provider,
                city=" ".join(ticket.merchant.city.split()),
                category=category,
                symptoms=sorted({symptom for *_rest, symptom in rows}),
                group=group,
                area_key=key,
                status=Incident.Status.SUSPECTED,
                source=Incident.Source.DETECTED,
                starts_at=rows[0][2],
                created_at=now,
            )
    except IntegrityError:
        # Another check opened it without the advisory lock (SQLite): join that one.
        incident = Incident.objects.open().get(
            provider=provider, area_key=key, group=group, source=Incident.Source.DETECTED
        )
        services.link(
            incident,
            [(ticket.pk, ticket.merchant_id, provider.pk)],
            via=IncidentTicket.Via.DETECTED,
        )
        return incident
    IncidentUpdate.objects.create(
        incident=incident,
        kind=IncidentUpdate.Kind.OPENED,
        public=False,
        data={
            "shops": len(shops),
            "window_minutes": provider.incident_window_minutes,
            "detected": True,
        },
        created_at=now,
    )
    _link_rows(incident, rows, provider.pk)
    services.alert_technicians(incident)
    logger.info(
        "outages: suspected incident %s opened for provider %s in %s (%s shops)",
        incident.pk,
        provider.pk,
        incident.city,
        len(shops),
    )
    return incident


def _link_rows(incident: Incident, rows: Sequence[tuple], provider_id: int) -> None:
    services.link(
        incident,
        [(pk, merchant_id, provider_id) for pk, merchant_id, *_rest in rows],
        via=IncidentTicket.Via.DETECTED,
    )
