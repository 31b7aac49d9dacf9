"""Tickets: the list, one ticket with the timeline the caller may read, filing, and the
actions of both sides.

Scope comes from tickets.access (the web's functions, taking a user): another shop's or
provider's ticket is a 404, as on the pages. Every write is the web's: the filing form
and `services.file_ticket`, the technician's actions from `WORK_ACTIONS` (the same form,
the same `run`), the merchant's through `services` and `workflow` as the merchant's
views call them; the same limits (tickets.limits) apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.urls import reverse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.formfields import serializer_for
from api.problems import Conflict, Limited, Unavailable, form_invalid
from api.schema import paged
from api.serializers import (
    LIST_VALUES,
    FiledSerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    list_rows,
)
from api.views.common import NewestFirst, form_data
from portal.access import merchant_for_user, provider_for_user
from portal.storage import StorageFailed
from tickets import limits, services, workflow
from tickets.access import merchant_ticket_for, technician_ticket_for, ticket_for_user
from tickets.forms import RatingForm, ReopenForm, ReplyForm, TicketForm
from tickets.forms_work import WORK_ACTIONS
from tickets.models import Category, Priority, Quote, Ticket, TicketQuerySet
from tickets.search import merchant_readable_events, readable_events

# List filters ---------------------------------------------------------------------------

OPEN = "open"


class TicketFilter(django_forms.Form):
    """The list's query string; every value is from an allow-list (a bad one is a 400)."""

    status = django_forms.ChoiceField(
        required=False, choices=[(OPEN, OPEN), *Ticket.Status.choices]
    )
    category = django_forms.ChoiceField(required=False, choices=Category.choices)
    priority = django_forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, choices=Priority.choices
    )
    queue = django_forms.IntegerField(required=False, min_value=1)
    device = django_forms.IntegerField(required=False, min_value=1)
    assigned = django_forms.ChoiceField(
        required=False, choices=[("me", "me"), ("unassigned", "unassigned")]
    )


FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=[OPEN, *Ticket.Status.values]),
    OpenApiParameter("category", str, enum=Category.values),
    OpenApiParameter("priority", int, enum=Priority.values),
    OpenApiParameter("queue", int, description="A queue's id (technicians)."),
    OpenApiParameter("device", int, description="A terminal's id."),
    OpenApiParameter("assigned", str, enum=["me", "unassigned"]),
]


def tickets_in_scope(user: Any) -> TicketQuerySet:
    """A merchant's tickets, or those in a technician's provider's queues; 404 for anyone
    else (admins use the Django admin, as on the web)."""
    if user.is_authenticated and user.merchant is not None:
        return Ticket.objects.filter(merchant=merchant_for_user(user))
    return Ticket.objects.filter(queue__provider=provider_for_user(user))


def _filtered(queryset: TicketQuerySet, values: dict[str, Any], user: Any) -> TicketQuerySet:
    state = values.get("status")
    if state == OPEN:
        queryset = queryset.open()
    elif state:
        queryset = queryset.filter(status=state)
    for name in ("category", "priority"):
        if values.get(name) not in (None, ""):
            queryset = queryset.filter(**{name: values[name]})
    if values.get("queue"):
        queryset = queryset.filter(queue_id=values["queue"])
    if values.get("device"):
        queryset = queryset.filter(device_id=values["device"])
    if values.get("assigned") == "me":
        queryset = queryset.filter(assigned_to=user)
    elif values.get("assigned") == "unassigned":
        queryset = queryset.filter(assigned_to__isnull=True)
    return queryset


class FilingRequest(serializer_for(TicketForm, "FilingForm", exclude=("attachments",))):
    """The filing body, for the schema: the web's form, and what only the API asks."""

    submission_token = serializers.UUIDField(
        required=False, help_text="Any UUID; the same one again answers the same ticket."
    )
    file_anyway = serializers.BooleanField(
        required=False,
        help_text="File although the terminal has an open ticket for this fault.",
    )


class TicketListView(GenericAPIView):
    pagination_class = NewestFirst
    serializer_class = TicketListSerializer

    @extend_schema(
        operation_id="tickets_list",
        parameters=FILTER_PARAMETERS,
        responses=paged("TicketPage", TicketListSerializer),
    )
    def get(self, request: Request) -> Response:
        """The caller's tickets, newest first, a cursor page at a time."""
        filters = TicketFilter(request.query_params)
        if not filters.is_valid():
            raise form_invalid(filters)
        tickets = _filtered(tickets_in_scope(request.user), filters.cleaned_data, request.user)
        tickets = tickets.values(*LIST_VALUES)
        page = self.paginate_queryset(tickets)
        return self.get_paginated_response(list_rows(page))

    @extend_schema(
        request=FilingRequest,
        responses={201: FiledSerializer, 200: FiledSerializer},
        description=(
            "File a fault as a merchant, as the web's form does. `submission_token` makes a "
            "retry safe: the same token answers the ticket filed the first time (200). "
            "`file_anyway` files although the terminal has an open ticket for this fault."
        ),
    )
    def post(self, request: Request) -> Response:
        merchant = merchant_for_user(request.user)
        data = form_data(request, {"submission_token": str(uuid.uuid4())})
        category = data.get("category", "")
        if category not in Category.values:
            # The form is built for one kind of fault: without a known one, say so alone.
            message = gettext("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Category.values)}
            raise ValidationError({"category": [ErrorDetail(message, code="invalid_choice")]})
        form = TicketForm(merchant, category, data, request.FILES)
        if not form.is_valid():
            raise form_invalid(form)
        files = len(form.cleaned_data["attachments"])
        limited = limits.filing_with_files(merchant, request.user, files)
        if limited is not None:
            # A retry of a report already filed answers its ticket, limit or not (the web
            # does the same): the token makes a retry safe.
            existing = Ticket.objects.filter(
                merchant=merchant, submission_token=form.cleaned_data["submission_token"]
            ).first()
            if existing is not None:
                return _filed(request, existing, created=False)
            raise Limited(limited.message, limited.retry_after)
        try:
            ticket, created = services.file_ticket(
                merchant=merchant,
                reporter=request.user,
                allow_open_twin=str(data.get("file_anyway", "")).lower() in {"1", "true", "on"},
                **form.filing_kwargs(),
            )
        except services.AlreadyOpen as already:
            limits.give_back_filing_with_files(merchant, request.user, files)
            raise Conflict(
                gettext(
                    "This terminal already has an open ticket for this fault: add to it, "
                    "or send file_anyway to file another."
                ),
                {"open_ticket": already.ticket.reference},
            ) from None
        except StorageFailed as failure:
            # A full disk: nothing was filed and no file kept (portal.storage).
            limits.give_back_filing_with_files(merchant, request.user, files)
            raise Unavailable(str(failure)) from None
        if not created:
            limits.give_back_filing_with_files(merchant, request.user, files)
        return _filed(request, ticket, created=created)


def _filed(request: Request, ticket: Ticket, *, created: bool) -> Response:
    url = request.build_absolute_uri(reverse("api:ticket", args=[ticket.reference]))
    return Response(
        {"reference": ticket.reference, "created": created, "url": url},
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        headers={"Location": url},
    )


# One ticket ------------------------------------------------------------------------------


def detail_response(ticket: Ticket, role: str) -> Response:
    if role == workflow.MERCHANT:
        events = ticket.events.filter(merchant_readable_events())
        quotes = ticket.quotes.all()
        actions = workflow.allowed_actions(ticket, role) & set(MERCHANT_ACTIONS)
        if not ticket.quotes.filter(status=Quote.Status.PENDING).exists():
            actions -= {"quote_accept", "quote_decline"}
        names = {MERCHANT_ACTIONS[name].path for name in actions}
    else:
        provider = ticket.queue.provider
        events = ticket.events.filter(readable_events(provider))
        # Prices agreed with another provider before a transfer are not this one's business.
        quotes = ticket.quotes.filter(provider=provider)
        names = workflow.allowed_actions(ticket, role) & set(TECHNICIAN_ACTIONS)
    context = {
        "events": list(events.select_related("actor").order_by("created_at", "id")),
        "quotes": list(quotes.order_by("created_at", "id")),
        "actions": names,
    }
    return Response(TicketDetailSerializer(ticket, context=context).data)


class TicketDetailView(GenericAPIView):
    serializer_class = TicketDetailSerializer

    def get(self, request: Request, reference: str) -> Response:
        """One ticket with the timeline the caller reads: a merchant its public entries, a
        technician those and its own provider's notes."""
        ticket, role = ticket_for_user(request.user, reference)
        return detail_response(ticket, role)


# Actions ----------------------------------------------------------------------------------

# The technician's actions the API offers, straight from the one table (WORK_ACTIONS).
TECHNICIAN_ACTIONS = ("claim", "reply", "note", "ask", "quote", "transfer", "resolve")


@dataclass(frozen=True)
class MerchantAction:
    """A merchant's action as the merchant's views do it (tickets.views.merchant)."""

    path: str
    form: type[django_forms.Form] | None
    run: Callable[[Ticket, Any, dict[str, Any]], object]
    counted: bool = False  # a message: RATE_LIMIT_REPLIES, as ticket_reply


MERCHANT_ACTIONS: dict[str, MerchantAction] = {
    "merchant_reply": MerchantAction(
        "reply",
        ReplyForm,
        lambda t, user, data: services.merchant_reply(
            ticket=t, user=user, body=data["body"], files=data["attachments"]
        ),
        counted=True,
    ),
    "quote_accept": MerchantAction(
        "quote/accept", None, lambda t, user, data: workflow.accept_quote(t, user)
    ),
    "quote_decline": MerchantAction(
        "quote/decline", None, lambda t, user, data: workflow.decline_quote(t, user)
    ),
    "confirm": MerchantAction("confirm", None, lambda t, user, data: workflow.confirm(t, user)),
    "reopen": MerchantAction(
        "reopen", ReopenForm, lambda t, user, data: workflow.reopen(t, user, data["reason"])
    ),
    "rate": MerchantAction(
        "rate",
        RatingForm,
        lambda t, user, data: workflow.rate(t, user, data["rating"], data["comment"]),
    ),
}


def _refusal(ticket: Ticket, name: str, role: str) -> Conflict:
    try:
        workflow.check(ticket, name, role)
    except workflow.NotAllowed as refused:
        return Conflict(str(refused))
    return Conflict(str(workflow.ACTIONS[name].label) + ": " + _not_now())


def _not_now() -> str:
    return gettext("That is not possible on this ticket now.")


def _technician_action(request: Request, reference: str, name: str) -> Response:
    action = WORK_ACTIONS[name]
    ticket = technician_ticket_for(request.user, reference)
    provider = ticket.queue.provider
    form = None
    if action.form is not None:
        # No prefix: the API's fields are the plain names (`body`, not `reply-body`).
        form = action.form(form_data(request), **action.form_kwargs(ticket, provider))
        if not form.is_valid():
            if name not in workflow.allowed_actions(ticket, workflow.TECHNICIAN):
                raise _refusal(ticket, name, workflow.TECHNICIAN)
            raise form_invalid(form)
    if action.counted and (limited := limits.message(request.user)) is not None:
        raise Limited(limited.message, limited.retry_after)
    action.run(ticket, request.user, form.cleaned_data if form is not None else {})
    ticket = Ticket.objects.select_related("queue__provider").get(pk=ticket.pk)
    if ticket.queue is None or ticket.queue.provider_id != provider.pk:
        # Transferred to another provider: no longer the caller's to read.
        return Response(status=status.HTTP_204_NO_CONTENT)
    return detail_response(ticket, workflow.TECHNICIAN)


def _merchant_action(request: Request, reference: str, name: str) -> Response:
    action = MERCHANT_ACTIONS[name]
    ticket = merchant_ticket_for(request.user, reference)
    data: dict[str, Any] = {}
    files = 0
    if action.form is not None:
        form = action.form(form_data(request), request.FILES)
        if not form.is_valid():
            raise form_invalid(form)
        data = form.cleaned_data
        files = len(data.get("attachments", []))
    if action.counted:
        limited = limits.message_with_files(request.user, files)
        if limited is not None:
            raise Limited(limited.message, limited.retry_after)
    try:
        action.run(ticket, request.user, data)
    except StorageFailed as failure:
        raise Unavailable(str(failure)) from None
    ticket.refresh_from_db()
    return detail_response(ticket, workflow.MERCHANT)


def _view(summary: str, request_serializer: Any, handler: Callable[..., Response]) -> type:
    class ActionView(GenericAPIView):
        serializer_class = TicketDetailSerializer

        @extend_schema(
            request=request_serializer, responses=TicketDetailSerializer, summary=summary
        )
        def post(self, request: Request, reference: str) -> Response:
            return handler(request, reference)

    return ActionView


NO_BODY = None


def technician_view(name: str) -> type:
    action = WORK_ACTIONS[name]
    body = (
        serializer_for(action.form, f"{name.title()}Request")
        if action.form is not None
        else NO_BODY
    )
    view = _view(
        f"Technician: {action.label}", body, lambda r, ref: _technician_action(r, ref, name)
    )
    view.__name__ = f"Technician{name.title()}View"
    return view


def merchant_view(name: str) -> type:
    action = MERCHANT_ACTIONS[name]
    body = (
        serializer_for(action.form, f"{name.title().replace('_', '')}Request", ("attachments",))
        if action.form is not None
        else NO_BODY
    )
    view = _view(
        f"Merchant: {workflow.ACTIONS[name].label}",
        body,
        lambda r, ref: _merchant_action(r, ref, name),
    )
    view.__name__ = f"Merchant{name.title().replace('_', '')}View"
    return view


class ReplyView(GenericAPIView):
    """`reply/` is both sides' word: the merchant's reply or the technician's."""

    serializer_class = TicketDetailSerializer

    @extend_schema(
        request=inline_serializer("ReplyRequest", {"body": serializers.CharField(max_length=5000)}),
        responses=TicketDetailSerializer,
        summary="Reply (merchant or technician)",
    )
    def post(self, request: Request, reference: str) -> Response:
        _ticket, role = ticket_for_user(request.user, reference)
        if role == workflow.MERCHANT:
            return _merchant_action(request, reference, "merchant_reply")
        return _technician_action(request, reference, "reply")
