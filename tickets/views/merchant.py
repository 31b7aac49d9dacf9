"""The merchant's ticket pages: the list, filing a fault, one ticket and its actions.

Every ticket is fetched through `tickets.access` (another merchant's ticket is a
404, GET or POST). Actions are POST-only; a form validates, `tickets.workflow` or
`tickets.services` acts, and a refusal (`workflow.NotAllowed`) becomes a message,
never an error page. A form with errors re-renders the ticket page with what was
typed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from devices.forms import ProofForm
from outages import known as known_problems
from portal.access import merchant_of
from portal.storage import StorageFailed
from tickets import limits, services, workflow
from tickets.access import merchant_ticket, ticket_for_any_role
from tickets.forms import (
    CancelForm,
    RatingForm,
    ReopenForm,
    ReplyForm,
    StartForm,
    TicketFilterForm,
    TicketForm,
    new_submission_token,
)
from tickets.models import (
    Advice,
    Attachment,
    Category,
    Quote,
    Ticket,
    TicketEvent,
    choice_labels,
)
from tickets.next_steps import NextStep, next_step
from tickets.search import merchant_readable_events
from tickets.uploads import MAX_FILES

if TYPE_CHECKING:
    from devices.models import Merchant

PAGE_SIZE = 25
WITHDRAWN = frozenset({TicketEvent.Kind.CANCELLED, TicketEvent.Kind.CANCELLED_BY_ADMIN})
ATTACHMENTS_NOT_KEPT = gettext_lazy(
    "Nothing was filed yet: check the fields marked below. Your text is kept, "
    "but choose the attachments again."
)


# The list ---------------------------------------------------------------------------------

LIST_COLUMNS = (
    "reference",
    "status",
    "warranty_status",
    "category",
    "symptom",
    "created_at",
    "device__serial_number",
    "device__model__name",
    "device__model__brand__name",
    "queue__provider__name",
)


@require_safe
@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    filters = TicketFilterForm(merchant, request.GET)
    tickets = (
        Ticket.objects.filter(merchant=merchant)
        .select_related("device__model__brand", "queue__provider")
        # The columns a row shows: a ticket has dozens (its description among them), and
        # loading them all into six model instances per row was a fifth of the page (W4).
        .only(*LIST_COLUMNS)
    )
    status = filters.value("status")
    device = filters.value("device")
    terminal = filters.value("terminal")  # the search box a shop with many terminals gets
    if status:
        tickets = tickets.filter(status=status)
    if device:
        tickets = tickets.filter(device=device)
    if terminal:
        tickets = tickets.filter(
            Q(device__serial_number__icontains=terminal) | Q(device__location__icontains=terminal)
        )
    page = Paginator(tickets.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Page links keep the (allow-listed) filters.
    kept = {"status": status or "", "device": device.pk if device else "", "terminal": terminal}
    query = urlencode({key: value for key, value in kept.items() if value})
    return render(
        request,
        "tickets/list.html",
        {
            "page": page,
            "rows": _list_rows(page.object_list),
            "filters": filters,
            "query": query,
            "filtered": bool(query),
        },
    )


@dataclass(frozen=True)
class ListRow:
    """A ticket on the merchant's list, with what its row shows worked out once, here.

    Per row, `get_*_display` (it rebuilds and hashes the choices on every call), the
    URL and an `{% include %}` for the badge were most of the list's template time (W4).
    """

    ticket: Ticket
    url: str
    status: str
    category: str
    symptom: str
    step: NextStep | None


def _list_rows(tickets: Iterable[Ticket]) -> list[ListRow]:
    # The labels once per list, in the request's language; an unknown code shows as is.
    statuses = choice_labels(Ticket.Status.choices)
    categories = choice_labels(Category.choices)
    tickets = list(tickets)
    # One query for the page, not one per row: which tickets wait on a quote.
    pending = set(
        Quote.objects.filter(
            ticket__in=[t.pk for t in tickets if t.status == Ticket.Status.WAITING_MERCHANT],
            status=Quote.Status.PENDING,
        ).values_list("ticket_id", flat=True)
    )
    return [
        ListRow(
            ticket=ticket,
            url=ticket.get_absolute_url(),
            status=statuses.get(ticket.status, ticket.status),
            category=categories.get(ticket.category, ticket.category),
            symptom=ticket.symptom_label,
            step=next_step(ticket, quote_pending=ticket.pk in pending),
        )
        for ticket in tickets
    ]


# Filing -----------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    merchant = merchant_of(request)
    if request.method == "POST":
        return _file(request, merchant)
    # Step 1 (terminal and kind) is a GET form, so the steps work without JavaScript.
    category = request.GET.get("category")
    if category in Category.values:
        form = TicketForm(
            merchant,
            category,
            initial={
                "category": category,
                "submission_token": new_submission_token(),
                "callback_phone": merchant.contact_phone or request.user.phone,
            },
        )
        # One query for the terminals: the select's options and the check of ?device=.
        device_id = _offered(request.GET.get("device", ""), form.fields["device"].fetch_choices())
        if device_id is not None:
            form.initial["device"] = device_id
            return _render_filing(request, form, device_id=device_id)
    # Step 1, or again with its errors (not a terminal of this shop, no kind of fault).
    start = StartForm(merchant, request.GET if "category" in request.GET else None)
    # One query for the terminals: the choices, the count and "has any".
    offered = start.fields["device"].fetch_choices()
    # ?device=<id> from a terminal's page; a shop with one terminal has nothing to choose.
    start.initial["device"] = request.GET.get("device") or (
        offered[0] if len(offered) == 1 else None
    )
    return render(
        request,
        "tickets/new_start.html",
        {
            "start": start,
            "has_devices": bool(offered),
            # Open incidents on the shop's terminals: one query, two while there are any.
            "known_problems": known_problems.for_shop(merchant) if offered else [],
        },
    )


def _offered(value: str, offered: list[int]) -> int | None:
    """The terminal `value` names if it is one of those offered, else None."""
    try:
        device_id = int(value)
    except ValueError:
        return None
    return device_id if device_id in offered else None


def _render_filing(
    request: HttpRequest,
    form: TicketForm,
    *,
    device_id: int | None = None,
    status: int = 200,
    open_twin: Ticket | None = None,
) -> HttpResponse:
    if device_id is None and form.is_bound and "device" in form.cleaned_data:
        device_id = form.cleaned_data["device"].pk
    change_url = reverse("tickets:new")
    known: list = []
    if device_id is not None:
        change_url += "?" + urlencode({"device": device_id})
        # Said before the shop types anything: one query, two while there is any.
        known = known_problems.for_terminal(form.merchant, device_id, form.category)
    return render(
        request,
        "tickets/new.html",
        {
            "form": form,
            "category_label": Category(form.category).label,
            "change_url": change_url,
            "selected_checks": form.selected_checks,
            "show_details": form.is_bound,
            "max_files": MAX_FILES,
            "max_bytes": settings.UPLOAD_MAX_BYTES,
            "open_twin": open_twin,
            "known_incidents": known,
            "device_id": device_id,
        },
        status=status,
    )


def _file(request: HttpRequest, merchant: Merchant) -> HttpResponse:
    category = request.POST.get("category", "")
    if category not in Category.values:
        messages.error(request, _("Choose the terminal and the kind of fault first."))
        return redirect("tickets:new")
    form = TicketForm(merchant, category, request.POST, request.FILES)
    valid = form.is_valid()
    fixed = request.POST.get("action") == "fixed"
    limited = None
    if valid and not fixed:
        files = len(form.cleaned_data["attachments"])
        limited = limits.filing_with_files(merchant, request.user, files)
        if limited is None:
            return _file_checked(request, merchant, form, files)
    # Anything else sent again after its ticket was filed (the back button, then "That
    # fixed it"; a form that would no longer validate; a limit reached since) lands on
    # that ticket too.
    existing = _already_filed(merchant, request.POST.get("submission_token", ""))
    if existing is not None:
        messages.info(request, _("This report was already sent: here is its ticket."))
        return redirect(existing)
    if limited is not None:
        form.add_error(None, _with_files_again(request, limited.message))
        return _retry_after(_render_filing(request, form, status=429), limited)
    if fixed and not form.errors.keys() & {"device", "category", "checks_tried"}:
        services.record_self_help_success(
            merchant=merchant,
            device=form.cleaned_data["device"],
            user=request.user,
            category=category,
            checks=form.cleaned_data["checks_tried"],
        )
        messages.success(request, _("Glad it works again. No ticket was filed."))
        return redirect("tickets:list")
    messages.error(
        request,
        ATTACHMENTS_NOT_KEPT
        if request.FILES
        else _("Nothing was filed yet: check the fields marked below."),
    )
    return _render_filing(request, form)


def _file_checked(
    request: HttpRequest, merchant: Merchant, form: TicketForm, files: int
) -> HttpResponse:
    """File the valid report, counted against the limits already."""
    try:
        # A report sent twice files one ticket: the service answers the first one.
        ticket, created = services.file_ticket(
            merchant=merchant,
            reporter=request.user,
            # The shop saw its open ticket for this fault and still files a new one.
            allow_open_twin=request.POST.get("action") == "file_anyway",
            **form.filing_kwargs(),
        )
    except services.AlreadyOpen as already:
        limits.give_back_filing_with_files(merchant, request.user, files)
        link = format_html(
            '<a href="{}">{}</a>', already.ticket.get_absolute_url(), already.ticket.reference
        )
        form.add_error(
            None,
            format_html(
                _with_files_again(
                    request,
                    _(
                        "This terminal already has an open ticket for this fault: {link}. "
                        "Add what is new there instead, or file a separate ticket anyway."
                    ),
                ),
                link=link,
            ),
        )
        return _render_filing(request, form, status=409, open_twin=already.ticket)
    except StorageFailed as failure:
        # A full disk: nothing was filed and no file kept (portal.storage); the text is.
        limits.give_back_filing_with_files(merchant, request.user, files)
        form.add_error("attachments", _with_files_again(request, str(failure)))
        return _render_filing(request, form, status=503)
    if created:
        messages.success(
            request,
            _("Ticket %(reference)s is filed. Its page shows who handles it.")
            % {"reference": ticket.reference},
        )
    else:
        limits.give_back_filing_with_files(merchant, request.user, files)
        messages.info(request, _("This report was already sent: here is its ticket."))
    return redirect(ticket)


def _with_files_again(request: HttpRequest, message: str) -> str:
    if not request.FILES:
        return message
    again = _("Choose the attachments again.")  # outside the f-string, for makemessages
    return f"{message} {again}"


def _retry_after(response: HttpResponse, limited: limits.Limited) -> HttpResponse:
    response["Retry-After"] = str(limited.retry_after)
    return response


def _already_filed(merchant: Merchant, token: str) -> Ticket | None:
    try:
        token_uuid = uuid.UUID(token)
    except ValueError:
        return None
    return Ticket.objects.filter(merchant=merchant, submission_token=token_uuid).first()


# One ticket ---------------------------------------------------------------------------------


def _visible_attachments() -> Prefetch:
    return Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id"))


def _detail_context(request: HttpRequest, ticket: Ticket, **forms: Any) -> dict[str, Any]:
    # The merchant's timeline: public events only; internal notes never leave the provider.
    events = list(
        ticket.events.filter(merchant_readable_events())
        .select_related("actor")
        .prefetch_related(_visible_attachments())
        .order_by("created_at", "id")
    )
    filing_attachments = [
        attachment
        for attachment in ticket.attachments.select_related("event").order_by("created_at", "id")
        if attachment.event_id is None
    ]
    actions = workflow.allowed_actions(ticket, workflow.MERCHANT)
    pending_quote = ticket.quotes.filter(status=Quote.Status.PENDING).first()
    if pending_quote is None:
        actions -= {"quote_accept", "quote_decline"}
    return {
        "ticket": ticket,
        "checks_tried": ticket.checks_tried_texts(),
        "events": events,
        # Why it was withdrawn, in the reader's language (the event keeps the code).
        "withdrawn": next(
            (event.text for event in reversed(events) if event.kind in WITHDRAWN), ""
        ),
        "filing_attachments": filing_attachments,
        "actions": actions,
        "pending_quote": pending_quote,
        "provider": ticket.queue.provider if ticket.queue else None,
        "reply_form": forms.get("reply_form") or ReplyForm(),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "rating_form": forms.get("rating_form") or RatingForm(),
        "advice": Advice.for_ticket(ticket) if ticket.is_open else [],
        "proof_form": forms.get("proof_form")
        or ProofForm(initial={"purchase_date": ticket.device.purchase_date}),
    }


@require_safe
@login_required
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def _act(
    request: HttpRequest,
    ticket: Ticket,
    run: Callable[[], object],
    success: str,
    **forms: Any,
) -> HttpResponse:
    """Run a workflow action; a refusal is shown as a message with the forms as typed."""
    try:
        run()
    except (workflow.NotAllowed, StorageFailed) as refusal:
        messages.error(request, str(refusal))
        if forms:
            ticket.refresh_from_db()
            return render(request, "tickets/detail.html", _detail_context(request, ticket, **forms))
        return redirect(ticket)
    messages.success(request, success)
    return redirect(ticket)


def _limited(
    request: HttpRequest, ticket: Ticket, limited: limits.Limited, **forms: Any
) -> HttpResponse:
    """Over a limit: the page again, the refusal next to the form as it was typed (429)."""
    for form in forms.values():
        form.add_error(None, _with_files_again(request, limited.message))
    response = render(
        request, "tickets/detail.html", _detail_context(request, ticket, **forms), status=429
    )
    return _retry_after(response, limited)


def _invalid(request: HttpRequest, ticket: Ticket, **forms: Any) -> HttpResponse:
    messages.error(request, _("Check the form below."))
    return render(
        request, "tickets/detail.html", _detail_context(request, ticket, **forms), status=400
    )


@require_POST
@login_required
def ticket_reply(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        if request.FILES:
            messages.error(request, _("Choose the attachments again."))
        return _invalid(request, ticket, reply_form=form)
    limited = limits.message_with_files(request.user, len(form.cleaned_data["attachments"]))
    if limited is not None:
        return _limited(request, ticket, limited, reply_form=form)
    return _act(
        request,
        ticket,
        lambda: services.merchant_reply(
            ticket=ticket,
            user=request.user,
            body=form.cleaned_data["body"],
            files=form.cleaned_data["attachments"],
        ),
        _("Your reply was sent."),
        reply_form=form,
    )


@require_POST
@login_required
def ticket_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, cancel_form=form)
    return _act(
        request,
        ticket,
        lambda: workflow.cancel(ticket, request.user, **form.withdraw_kwargs()),
        _("The ticket is withdrawn."),
        cancel_form=form,
    )


@require_POST
@login_required
def quote_accept(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return _act(
        request,
        ticket,
        lambda: workflow.accept_quote(ticket, request.user),
        _("You accepted the quote: the repair can start."),
    )


@require_POST
@login_required
def quote_decline(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return _act(
        request,
        ticket,
        lambda: workflow.decline_quote(ticket, request.user),
        _("You declined the quote. The technician will tell you the options."),
    )


@require_POST
@login_required
def ticket_confirm(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return _act(
        request,
        ticket,
        lambda: workflow.confirm(ticket, request.user),
        _("Thank you: the ticket is closed."),
    )


@require_POST
@login_required
def ticket_reopen(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, reopen_form=form)
    return _act(
        request,
        ticket,
        lambda: workflow.reopen(ticket, request.user, form.cleaned_data["reason"]),
        _("The ticket is open again; the same technician will look at it."),
        reopen_form=form,
    )


@require_POST
@login_required
def ticket_rate(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    form = RatingForm(request.POST)
    if not form.is_valid():
        return _invalid(request, ticket, rating_form=form)
    return _act(
        request,
        ticket,
        lambda: workflow.rate(
            ticket, request.user, form.cleaned_data["rating"], form.cleaned_data["comment"]
        ),
        _("Thank you for your rating."),
        rating_form=form,
    )


@require_POST
@login_required
def ticket_add_proof(request: HttpRequest, reference: str) -> HttpResponse:
    """The proof of purchase the provider needs, sent from the ticket page."""
    ticket = merchant_ticket(request, reference)
    form = ProofForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, ticket, proof_form=form)
    limited = limits.uploads(request.user, 1)
    if limited is not None:
        return _limited(request, ticket, limited, proof_form=form)
    return _act(
        request,
        ticket,
        lambda: workflow.add_proof(
            ticket, request.user, form.cleaned_data["proof"], form.cleaned_data["purchase_date"]
        ),
        _("Thank you: the provider checks your proof of purchase before any free repair."),
        proof_form=form,
    )


# Attachments --------------------------------------------------------------------------------


def _merchant_may_see(attachment: Attachment) -> bool:
    """The filing's files and those of public events; never those of an internal note."""
    return attachment.event_id is None or attachment.event.public


@require_safe
@login_required
def attachment_download(request: HttpRequest, reference: str, pk: int) -> FileResponse:
    ticket, role = ticket_for_any_role(request, reference)
    attachment = Attachment.objects.select_related("event").filter(ticket=ticket, pk=pk).first()
    if attachment is None or (role == workflow.MERCHANT and not _merchant_may_see(attachment)):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):  # gone from disk, or no file recorded
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
