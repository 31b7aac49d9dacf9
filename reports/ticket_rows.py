"""The rows of ticket exports: one header and one row shape for every list that exports
tickets (the tickets behind a report, a technician's queue, search and own tickets, a
shop's tickets), read with a server-side cursor so a long list streams."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import Provider
from devices.warranty import WarrantyStatus
from tickets.models import Category, Priority, Ticket

FIELDS = (
    "reference",
    "created_at",
    "queue__provider__name",
    "queue__name",
    "status",
    "priority",
    "category",
    "symptom",
    "device__model__brand__name",
    "device__model__name",
    "device__serial_number",
    "merchant__name",
    "merchant__city",
    "warranty_status",
    "billable",
    "assigned_to__username",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "rating",
)
CHUNK = 2000


def header(*, for_merchant: bool = False) -> list[str]:
    out = [
        _("Reference"),
        _("Filed"),
        _("Provider"),
        _("Queue"),
        _("Status"),
        _("Priority"),
        _("Kind of fault"),
        _("Symptom"),
        _("Brand"),
        _("Model"),
        _("Serial number"),
        _("Shop"),
        _("City"),
        _("Warranty at filing"),
        _("Billable"),
        _("Assigned to"),
        _("First response"),
        _("Resolved"),
        _("Closed"),
        _("Rating"),
    ]
    if for_merchant:  # a shop sees neither queues nor the technician's names
        return [h for i, h in enumerate(out) if i not in (3, 15)]
    return out


def rows(tickets: QuerySet[Ticket], *, for_merchant: bool = False) -> Iterator[list]:
    statuses = {v: str(label) for v, label in Ticket.Status.choices}
    priorities = {v: str(label) for v, label in Priority.choices}
    categories = {v: str(label) for v, label in Category.choices}
    warranty = {v: str(label) for v, label in WarrantyStatus.choices}
    yes, no = _("yes"), _("no")
    for values in tickets.values_list(*FIELDS).iterator(chunk_size=CHUNK):
        row = list(values)
        row[4] = statuses.get(row[4], row[4])
        row[5] = priorities.get(row[5], row[5])
        row[6] = categories.get(row[6], row[6])
        row[13] = warranty.get(row[13], row[13])
        row[14] = "" if row[14] is None else (yes if row[14] else no)
        if for_merchant:
            del row[15]
            del row[3]
        yield row


def report_tickets(provider: Provider | None, start: date, end: date) -> tuple[list[str], Iterator]:
    """The tickets filed in a report's range, in its provider's queues (or all)."""
    zone = timezone.get_default_timezone()
    tickets = Ticket.objects.filter(
        created_at__gte=datetime.combine(start, time.min, tzinfo=zone),
        created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )
    if provider is not None:
        tickets = tickets.filter(queue__provider=provider)
    return header(), rows(tickets.order_by("created_at", "id"))
