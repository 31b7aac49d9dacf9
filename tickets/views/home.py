"""The merchant's home: open tickets first, each with its next step in words, then the
terminals. A shop owner who opens PosDesk at the lunch rush sees at once whether a
question, a quote or a repair to confirm is waiting for them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from devices.models import Device
from outages import known
from portal.access import merchant_of
from tickets.models import Category, Quote, Ticket, TicketQuerySet, choice_labels
from tickets.next_steps import NextStep, next_step

OPEN_SHOWN = 20
# Terminals no fault can be reported for (as tickets.forms.filing_devices).
FILING_EXCLUDED = (Device.Status.RETIRED, Device.Status.REPLACED)
TERMINALS_SHOWN = 10
# Open for the shop: a resolved ticket still waits for its confirmation.
HOME_STATUSES = (*TicketQuerySet.OPEN_STATUSES, Ticket.Status.RESOLVED)
HOME_COLUMNS = (
    "reference",
    "status",
    "category",
    "symptom",
    "created_at",
    "warranty_status",
    "device__serial_number",
    "device__location",
    "device__model__name",
    "device__model__brand__name",
)


@dataclass(frozen=True)
class HomeRow:
    ticket: Ticket
    url: str
    category: str
    symptom: str
    step: NextStep | None


def merchant_home(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    # The shop's turn first (a question, a quote, a fix to confirm), then the newest.
    yours_first = Case(
        When(status__in=[Ticket.Status.WAITING_MERCHANT, Ticket.Status.RESOLVED], then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    tickets = list(
        Ticket.objects.filter(merchant=merchant, status__in=HOME_STATUSES)
        .select_related("device__model__brand")
        .only(*HOME_COLUMNS)
        .annotate(yours_first=yours_first)
        .order_by("yours_first", "-created_at", "-id")[: OPEN_SHOWN + 1]
    )
    more_tickets = len(tickets) > OPEN_SHOWN
    tickets = tickets[:OPEN_SHOWN]
    pending = set(
        Quote.objects.filter(
            ticket__in=[t.pk for t in tickets], status=Quote.Status.PENDING
        ).values_list("ticket_id", flat=True)
    )
    categories = choice_labels(Category.choices)
    rows = [
        HomeRow(
            ticket=ticket,
            url=ticket.get_absolute_url(),
            category=categories.get(ticket.category, ticket.category),
            symptom=ticket.symptom_label,
            step=next_step(ticket, quote_pending=ticket.pk in pending),
        )
        for ticket in tickets
    ]
    terminals = list(
        Device.objects.filter(merchant=merchant)
        .select_related("model__brand")
        .order_by("-created_at", "-id")[: TERMINALS_SHOWN + 1]
    )
    # A shop with one terminal starts a report from here, one tap to the filing form:
    # the terminal is known and the kind of fault is the tap.
    in_service = [d for d in terminals if d.status not in FILING_EXCLUDED]
    quick_report = in_service[0] if len(terminals) == 1 and in_service else None
    return render(
        request,
        "tickets/home.html",
        {
            "merchant": merchant,
            "rows": rows,
            "more_tickets": more_tickets,
            "terminals": terminals[:TERMINALS_SHOWN],
            "more_terminals": len(terminals) > TERMINALS_SHOWN,
            "quick_report": quick_report,
            "categories": Category.choices,
            # An outage on the shop's terminals, with "Me too": one query, two while any.
            "known_problems": known.for_shop(merchant) if terminals else [],
        },
    )
