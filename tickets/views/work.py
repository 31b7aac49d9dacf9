"""The technician workspace: the day's queues, a queue's list, one ticket and its actions.

Only technicians get here; anyone else gets 404 (staff are sent to the admin). Every
ticket comes through `tickets.access.technician_ticket`, so another provider's ticket is
a 404 on the page and on every action, GET or crafted POST. Every action goes through
one POST-only view, driven by `forms_work.WORK_ACTIONS`: a form validates,
`tickets.workflow` acts, a refusal becomes a message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, FilteredRelation, Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from devices.views_work import proof_response, warranty_history
from devices.warranty import WarrantySource
from outages.models import IncidentTicket
from outages.views_work import home_incidents
from portal.access import provider_of
from tickets import canned, limits, saved_views, sla, workflow
from tickets.access import technician_queue, technician_ticket
from tickets.forms_work import (
    ASSIGNED_ME,
    ASSIGNED_NOBODY,
    CANNED_TARGETS,
    STATUS_ALL,
    STATUS_OPEN,
    WORK_ACTIONS,
    QueueFilterForm,
    WorkAction,
)
from tickets.models import (
    Category,
    Queue,
    Ticket,
    TicketEvent,
    TicketQuerySet,
    choice_labels,
)
from tickets.search import readable_events
from tickets.views.bulk import bulk_form
from tickets.views.saved import SaveViewForm

PAGE_SIZE = 25
URGENT_ON_HOME = 15
HISTORY_SHOWN = 10
WARRANTY_CHANGES_SHOWN = 5

# Public filter names → the ORM field they filter; the form's choices hold the values.
FILTER_FIELDS = {
    "priority": "priority",
    "category": "category",
    "warranty": "warranty_status",
}
# Public sort names → ORM ordering (see forms_work.SORT_LABELS for what people read).
SORTS: dict[str, tuple[Any, ...]] = {
    "due": (F("sla_due").asc(nulls_last=True), "priority", "created_at", "id"),
    "priority": ("priority", F("sla_due").asc(nulls_last=True), "id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "updated": ("-updated_at", "-id"),
}


@dataclass
class Row:
    """A ticket on a list, with what its row shows worked out once, in Python.

    Per-row template work (an `{% include %}` per cell, `{% url %}`, `get_*_display`,
    `|default`) was most of the queue page's CPU; the template only prints these,
    escaped, and `ticket_tags` writes the status badge and the SLA clock.
    """

    ticket: Ticket
    clock: sla.SlaClock
    url: str
    category: str
    symptom: str
    status: str
    # The assignee's full name, else their username; "" when nobody has the ticket.
    assignee: str


# The columns a row shows (with `for_work_list`'s joins): a page reads 26 rows of six
# tables, and building every column of each was a few ms of a queue page. Reading one
# left out here costs a query per row; the views' query-count tests catch that.
ROW_FIELDS = (
    "reference",
    "category",
    "symptom",
    "priority",
    "status",
    "created_at",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "sla_paused_at",
    "warranty_status",
    "warranty_check",
    "warranty_edited_at",
    "queue__name",
    "merchant__name",
    "merchant__city",
    "device__serial_number",
    "device__model__name",
    "device__model__brand__name",
    "assigned_to__username",
    "assigned_to__first_name",
    "assigned_to__last_name",
)


def _rows(tickets: list[Ticket], now: datetime) -> list[Row]:
    # The labels once per list in the request's language, not `get_*_display` per row
    # (it rebuilds and hashes the choices on every call). An unknown code shows as is.
    categories = choice_labels(Category.choices)
    statuses = choice_labels(Ticket.Status.choices)
    rows = []
    for ticket in tickets:
        assignee = ticket.assigned_to
        rows.append(
            Row(
                ticket=ticket,
                clock=sla.clock(ticket, now),
                url=reverse("tickets:work_ticket", args=[ticket.reference]),
                category=categories.get(ticket.category, ticket.category),
                symptom=ticket.symptom_label,
                status=statuses.get(ticket.status, ticket.status),
                assignee=(assignee.get_full_name() or assignee.get_username()) if assignee else "",
            )
        )
    return rows


# The day's overview --------------------------------------------------------------------


@require_safe
@login_required
def work_home(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff and request.user.provider is None:
        return redirect("admin:index")
    provider = provider_of(request)
    now = timezone.now()
    # One query: every queue of the provider with its counts, grouped by queue. Only open
    # tickets are joined (the status test is in the join, so a queue with none still
    # shows), and the partial index of open tickets answers: joining all of a queue's
    # tickets and filtering each count was half a second at a million tickets.
    work = FilteredRelation(
        "tickets", condition=Q(tickets__status__in=TicketQuerySet.WORK_STATUSES)
    )
    queues = (
        Queue.objects.filter(provider=provider)
        .annotate(work=work)
        .annotate(
            open_count=Count("work"),
            unassigned=Count("work", filter=Q(work__assigned_to__isnull=True)),
            mine=Count("work", filter=Q(work__assigned_to=request.user)),
            waiting=Count("work", filter=Q(work__status=Ticket.Status.WAITING_MERCHANT)),
            overdue=Count("work", filter=TicketQuerySet.overdue_q(now, "work__")),
        )
        .order_by("-active", "name")
    )
    # Ids first from the index, then the 15 rows with their joins (as the queue page).
    urgent = (
        Ticket.objects.filter(queue__provider=provider)
        .in_work()
        .for_work_list()
        .only(*ROW_FIELDS)
        .most_urgent_first(now)
        .page_rows(0, URGENT_ON_HOME)
    )
    return render(
        request,
        "tickets/work/home.html",
        {
            "provider": provider,
            "queues": queues,
            "saved_views": saved_views.for_user(request.user, provider.pk, now),
            "rows": _rows(urgent, now),
            **home_incidents(provider),
        },
    )


# A queue's list ------------------------------------------------------------------------


def _filtered(
    queryset: TicketQuerySet, values: dict[str, object], user: Any, now: datetime
) -> TicketQuerySet:
    status = values.get("status", STATUS_OPEN)
    if status == STATUS_OPEN:
        queryset = queryset.in_work()
    elif status != STATUS_ALL:
        queryset = queryset.filter(status=status)
    for name, field in FILTER_FIELDS.items():
        if name in values:
            queryset = queryset.filter(**{field: values[name]})
    assigned = values.get("assigned")
    if assigned == ASSIGNED_ME:
        queryset = queryset.filter(assigned_to=user)
    elif assigned == ASSIGNED_NOBODY:
        queryset = queryset.filter(assigned_to__isnull=True)
    if values.get("overdue"):
        queryset = queryset.overdue(now)
    search = str(values.get("q", "")).strip()
    if search:
        queryset = queryset.filter(
            # The reference by equality, so its unique index answers.
            Q(reference=search.upper())
            | Q(device__serial_number__icontains=search)
            | Q(merchant__name__icontains=search)
        )
    return queryset


def queue_tickets(
    queryset: TicketQuerySet, values: dict[str, object], user: Any, now: datetime
) -> TicketQuerySet:
    """A queue's tickets as its page lists them: the filter form's `values` applied, in
    the chosen order (the page and its export, reports.views_lists)."""
    return _filtered(queryset, values, user, now).order_by(*SORTS[str(values.get("sort", "due"))])


@require_safe
@login_required
def work_queue(request: HttpRequest, pk: int) -> HttpResponse:
    queue = technician_queue(request, pk)
    provider = provider_of(request)  # the user's, cached with it: no query
    now = timezone.now()
    form = QueueFilterForm(request.GET)
    values = form.values()
    page = int(values.get("page", 1))
    tickets = queue_tickets(
        Ticket.objects.filter(queue=queue).for_work_list().only(*ROW_FIELDS).with_sla_due(now),
        values,
        request.user,
        now,
    )
    # No COUNT over the queue: one row more than a page says whether there is a next.
    start = (page - 1) * PAGE_SIZE
    found = tickets.page_rows(start, PAGE_SIZE + 1)
    return render(
        request,
        "tickets/work/queue.html",
        {
            "queue": queue,
            "form": form,
            "rows": _rows(found[:PAGE_SIZE], now),
            "page_number": page,
            "has_previous": page > 1,
            "has_next": len(found) > PAGE_SIZE,
            # Only when there is something to tick: its selects cost two queries.
            "bulk": bulk_form(request, provider) if found else None,
            "saved_views": saved_views.for_user(request.user, provider.pk, now),
            "save_view_form": SaveViewForm(),
        },
    )


# One ticket ----------------------------------------------------------------------------

ActionForms = dict[str, forms.Form | None]
# What the repair history shows of each earlier ticket.
HISTORY_FIELDS = ("reference", "created_at", "category", "symptom", "status", "resolution_code")


def _headline(event: TicketEvent, kinds: dict[str, str]) -> list[str]:
    """What happened, then the facts the event recorded, for the timeline to join with
    " · " (escaped there). Looking each fact up in the template failed, with an
    exception, for every event that did not record it."""
    data = event.data or {}
    parts = [kinds.get(event.kind, event.kind)]
    if data.get("amount"):
        parts.append(f"¥{data['amount']}")
    if data.get("rating"):
        parts.append(f"{data['rating']}/5")
    if event.kind == TicketEvent.Kind.TRANSFERRED and data.get("to_queue_name"):
        parts.append(str(data["to_queue_name"]))
    if data.get("assignee_name"):
        parts.append(str(data["assignee_name"]))
    if resolution := event.resolution_display:
        parts.append(resolution)
    if data.get("serial"):
        parts.append(str(data["serial"]))
    if event.kind == TicketEvent.Kind.WARRANTY_VERIFIED and data.get("warranty_end"):
        parts.append(_("until %(date)s") % {"date": data["warranty_end"]})
        sources = choice_labels(WarrantySource.choices)
        parts.append(sources.get(data.get("source", ""), ""))
    if event.kind == TicketEvent.Kind.PROOF_ADDED and data.get("purchase_date"):
        parts.append(_("bought %(date)s") % {"date": data["purchase_date"]})
    if data.get("original"):
        parts.append(_("of %(reference)s") % {"reference": data["original"]})
    if event.kind == TicketEvent.Kind.UNASSIGNED and data.get("leaver_name"):
        reason = workflow.LEFT_REASONS.get(data.get("reason", ""), "")
        parts.append(
            _("%(name)s left: %(reason)s") % {"name": data["leaver_name"], "reason": reason}
        )
    return [part for part in parts if part]


@dataclass
class ActionBlock:
    """One action as the ticket page shows it (in WORK_ACTIONS order)."""

    action: WorkAction
    form: forms.Form | None
    url: str
    button: str
    open: bool


def _action_blocks(
    ticket: Ticket,
    allowed: set[str],
    bound: ActionForms,
    prefilled: dict[str, str] | None = None,
) -> list[ActionBlock]:
    """A block for each action allowed now, with an empty form; the one that failed keeps
    its input and is shown unfolded, as is one a canned reply filled in (`prefilled`:
    action name → text)."""
    provider = ticket.queue.provider
    prefilled = prefilled or {}
    blocks = []
    for name, action in WORK_ACTIONS.items():
        if name not in allowed:
            continue
        if name in bound:
            form = bound[name]
        elif name in prefilled:
            form = action.form(None, prefix=action.prefix, initial={"body": prefilled[name]})
        else:
            form = action.build(None, ticket=ticket, provider=provider)
        blocks.append(
            ActionBlock(
                action=action,
                form=form,
                url=reverse(f"tickets:work_{name}", args=[ticket.reference]),
                button=action.button_text(ticket),
                open=action.open or name in bound or name in prefilled,
            )
        )
    return blocks


def _render_ticket(
    request: HttpRequest,
    ticket: Ticket,
    bound: ActionForms | None = None,
    prefilled: dict[str, str] | None = None,
) -> HttpResponse:
    now = timezone.now()
    provider = ticket.queue.provider
    # Internal notes are the writing provider's own: after a transfer the new provider
    # reads the public timeline and its own notes, never the old provider's.
    events = list(ticket.events.filter(readable_events(provider)).select_related("actor"))
    by_event: dict[int | None, list] = defaultdict(list)
    for attachment in ticket.attachments.all():
        attachment.ticket = ticket  # its URL names the ticket: no query per file
        by_event[attachment.event_id].append(attachment)
    # Labels once per page, not `get_*_display` per row: each call rebuilds and hashes
    # the field's (translated) choices. An unknown code shows as is, as there.
    kinds = choice_labels(TicketEvent.Kind.choices)
    for event in events:
        event.files = by_event.get(event.pk, [])
        event.headline = _headline(event, kinds)
    # Prices agreed with another provider before a transfer are not this one's business.
    quotes = list(
        ticket.quotes.filter(provider=provider).select_related("created_by", "decided_by")
    )
    history = list(
        Ticket.objects.filter(device_id=ticket.device_id, queue__provider=provider)
        .exclude(pk=ticket.pk)
        .only(*HISTORY_FIELDS)
        .order_by("-created_at")[:HISTORY_SHOWN]
    )
    categories = choice_labels(Category.choices)
    statuses = choice_labels(Ticket.Status.choices)
    resolutions = choice_labels(Ticket.Resolution.choices)
    for earlier in history:
        earlier.category_label = categories.get(earlier.category, earlier.category)
        earlier.status_label = statuses.get(earlier.status, earlier.status)
        earlier.resolution_label = resolutions.get(earlier.resolution_code, earlier.resolution_code)
    allowed = workflow.allowed_actions(ticket, workflow.TECHNICIAN)
    blocks = _action_blocks(ticket, allowed, bound or {}, prefilled)
    # One query, only when a reply or a question can be written.
    canned_replies = (
        list(canned.for_provider(provider.pk).only("pk", "title"))
        if allowed & set(CANNED_TARGETS)
        else []
    )
    device = ticket.device
    return render(
        request,
        "tickets/work/ticket.html",
        {
            "ticket": ticket,
            "checks_tried": ticket.checks_tried_texts(),
            "device": ticket.device,
            "merchant": ticket.merchant,
            "warranty_now": ticket.device.warranty_status(),
            "events": events,
            "filing_files": by_event.get(None, []),
            "quotes": quotes,
            "history": history,
            "clock": sla.clock(ticket, now),
            "actions": blocks,
            "forms": {block.action.name: block.form for block in blocks},
            "canned_replies": canned_replies,
            "repair_refusal": workflow.repair_refusal(ticket),
            "own_terminal": device.provider_id == provider.pk,
            "warranty_history": warranty_history(device, limit=WARRANTY_CHANGES_SHOWN),
            # One query: the incident holding this ticket, if it is this provider's.
            "incident_link": IncidentTicket.objects.filter(
                ticket=ticket, incident__provider=provider
            )
            .select_related("incident")
            .first(),
            "now": now,
        },
    )


@require_safe
@login_required
def work_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = technician_ticket(request, reference)
    return _render_ticket(request, ticket, prefilled=_canned_prefill(request, ticket))


def _canned_prefill(request: HttpRequest, ticket: Ticket) -> dict[str, str]:
    """`?canned=<id>&into=reply|ask`: that canned reply of the technician's provider,
    filled in for this ticket, in the reply's or the question's text (works without
    JavaScript: the ticket page's "Insert" is a GET form). Anything else: nothing."""
    into = request.GET.get("into")
    if into not in CANNED_TARGETS or not request.GET.get("canned", "").isdigit():
        return {}
    reply = (
        canned.for_provider(ticket.queue.provider_id).filter(pk=int(request.GET["canned"])).first()
    )
    if reply is None:
        return {}
    return {into: canned.text_for(reply, ticket, request.user)}


# Actions: one POST-only view for all, driven by WORK_ACTIONS ---------------------------------


@require_POST
@login_required
def work_action(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    """`name` comes from the URL conf (one entry per action), never from the client."""
    action = WORK_ACTIONS[name]
    ticket = technician_ticket(request, reference)
    provider = ticket.queue.provider
    form = action.build(request.POST, ticket=ticket, provider=provider)
    if form is not None and not form.is_valid():
        if name in workflow.allowed_actions(ticket, workflow.TECHNICIAN):
            # Shown again in place, next to the fields, with everything typed.
            messages.error(request, _("Check the form below: nothing was done yet."))
            return _render_ticket(request, ticket, {name: form})
        # Not offered now (a stale page, a crafted POST): say why, not "fix the form".
        try:
            workflow.check(ticket, name, workflow.TECHNICIAN)
            messages.error(request, _("That is not possible on this ticket now."))
        except workflow.NotAllowed as refused:
            messages.error(request, str(refused))
        return redirect("tickets:work_ticket", ticket.reference)
    if action.counted and (limited := limits.message(request.user)) is not None:
        form.add_error(None, limited.message)
        response = _render_ticket(request, ticket, {name: form})
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
        return response
    try:
        action.run(ticket, request.user, form.cleaned_data if form is not None else {})
    except workflow.NotAllowed as refused:
        messages.error(request, str(refused))
        return redirect("tickets:work_ticket", ticket.reference)
    messages.success(request, str(action.done))
    if action.may_leave:
        now_in = Queue.objects.filter(tickets=ticket).select_related("provider").first()
        if now_in is None or now_in.provider_id != provider.pk:
            # Another provider has it now: its page is no longer ours to show.
            messages.info(
                request,
                _("%(reference)s is now with %(queue)s and no longer in your queues.")
                % {"reference": ticket.reference, "queue": now_in},
            )
            return redirect("tickets:work")
    return redirect("tickets:work_ticket", ticket.reference)


@require_safe
@login_required
def work_proof(request: HttpRequest, reference: str) -> FileResponse:
    """The terminal's proof of purchase, for whoever has the ticket in their queues."""
    return proof_response(technician_ticket(request, reference).device)
