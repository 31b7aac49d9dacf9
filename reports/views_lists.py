"""Exports of the ticket and terminal lists, with the filters the page has in its URL.

Each export fetches through the same scope helper and filters with the same code as its
page (the queue's `queue_tickets`, the search, "My tickets", a shop's ticket filter
and terminal search), so a list and its export never disagree; outside scope is the
page's 404. The rows stream (reports.export), without the page's pagination: the whole
filtered list, except search, whose results the search itself caps (tickets.search.CAP).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from devices.forms import DeviceSearchForm
from devices.models import Device
from devices.warranty import WarrantyStatus
from portal.access import merchant_of, provider_of
from reports import export, ticket_rows
from tickets import search
from tickets.access import technician_queue
from tickets.forms import TicketFilterForm
from tickets.forms_work import QueueFilterForm
from tickets.models import Ticket
from tickets.views.search import MINE_OPEN, MINE_RESOLVED, MINE_WAITING, MineForm, SearchForm
from tickets.views.search import _values as form_values
from tickets.views.work import queue_tickets


def _format(fmt: str) -> str:
    if fmt not in export.FORMATS:
        raise Http404
    return fmt


@require_safe
@login_required
def queue_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    queue = technician_queue(request, pk)
    fmt = _format(fmt)
    now = timezone.now()
    values = QueueFilterForm(request.GET).values()
    tickets = queue_tickets(
        Ticket.objects.filter(queue=queue).with_sla_due(now), values, request.user, now
    )
    return export.response(
        fmt, f"posdesk-queue-{queue.pk}", ticket_rows.header(), ticket_rows.rows(tickets)
    )


@require_safe
@login_required
def search_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    provider = provider_of(request)
    fmt = _format(fmt)
    query = search.normalise(str(form_values(SearchForm(request.GET)).get("q", "")))
    found = search.search(provider, query, offset=0, limit=search.CAP)
    # At most CAP rows: read together, then written in the search's order (best first).
    by_id = {
        row[0]: row[1:]
        for row in _with_ids(Ticket.objects.filter(pk__in=found.ids, queue__provider=provider))
    }
    rows = (by_id[pk] for pk in found.ids if pk in by_id)
    return export.response(fmt, "posdesk-search", ticket_rows.header(), rows)


def _with_ids(tickets) -> Iterator[list]:  # noqa: ANN001
    ids = tickets.order_by("pk").values_list("pk", flat=True)
    for pk, row in zip(ids, ticket_rows.rows(tickets.order_by("pk")), strict=True):
        yield [pk, *row]


@require_safe
@login_required
def mine_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    provider = provider_of(request)
    fmt = _format(fmt)
    show = str(form_values(MineForm(request.GET)).get("show", MINE_OPEN))
    now = timezone.now()
    tickets = Ticket.objects.filter(queue__provider=provider, assigned_to=request.user)
    if show == MINE_WAITING:
        tickets = tickets.filter(status=Ticket.Status.WAITING_MERCHANT).most_urgent_first(now)
    elif show == MINE_RESOLVED:
        tickets = tickets.filter(status=Ticket.Status.RESOLVED).order_by(
            F("resolved_at").desc(nulls_last=True), "-id"
        )
    else:
        tickets = tickets.in_work().most_urgent_first(now)
    return export.response(
        fmt, f"posdesk-my-tickets-{show}", ticket_rows.header(), ticket_rows.rows(tickets)
    )


@require_safe
@login_required
def merchant_tickets_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    merchant = merchant_of(request)
    fmt = _format(fmt)
    filters = TicketFilterForm(merchant, request.GET)
    tickets = Ticket.objects.filter(merchant=merchant)
    status, device, terminal = (filters.value(n) for n in ("status", "device", "terminal"))
    if status:
        tickets = tickets.filter(status=status)
    if device:
        tickets = tickets.filter(device=device)
    if terminal:
        tickets = tickets.filter(
            Q(device__serial_number__icontains=terminal) | Q(device__location__icontains=terminal)
        )
    return export.response(
        fmt,
        "posdesk-tickets",
        ticket_rows.header(for_merchant=True),
        ticket_rows.rows(tickets.order_by("-created_at", "-id"), for_merchant=True),
    )


@require_safe
@login_required
def merchant_devices_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    merchant = merchant_of(request)
    fmt = _format(fmt)
    devices = (
        Device.objects.visible_to(request.user)
        .filter(merchant=merchant)
        .select_related("model__brand", "provider")
        .order_by("-created_at", "-id")
    )
    query = DeviceSearchForm(request.GET).query()
    if query:
        devices = devices.filter(serial_number__icontains=query)
    header = [
        _("Brand"),
        _("Model"),
        _("Serial number"),
        _("Status"),
        _("Location"),
        _("Service provider"),
        _("Purchase date"),
        _("Warranty end"),
        _("Warranty"),
    ]
    statuses = {v: str(label) for v, label in Device.Status.choices}
    warranty = {v: str(label) for v, label in WarrantyStatus.choices}
    today = timezone.localdate()
    rows = (
        [
            d.model.brand.name,
            d.model.name,
            d.serial_number,
            statuses.get(d.status, d.status),
            d.location,
            d.provider.name,
            d.purchase_date,
            d.warranty_end,
            warranty.get(d.warranty_status(on=today), ""),
        ]
        for d in devices.iterator(chunk_size=2000)
    )
    return export.response(fmt, "posdesk-terminals", header, rows)
