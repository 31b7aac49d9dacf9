"""Repair logistics, both sides: the technician chooses how a decided repair happens and
records each step (`/work/tickets/<ref>/repair/...`, the ticket's provider only); the
shop confirms or counters a visit and says when its terminal arrived
(`/tickets/<ref>/repair/...`, its own tickets only). Anything else is a 404.

Every change is a POST: a form validates, `repairs.services` acts, a refusal becomes a
message; a form with errors is shown again on its own page, with what was typed.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from repairs import services
from repairs.forms import CounterForm, ProposeForm, SendInForm, ShipBackForm, SwapForm, VisitForm
from repairs.models import Repair
from tickets import workflow
from tickets.access import merchant_ticket, technician_ticket
from tickets.models import Quote, Ticket, TicketEvent

M = Repair.Method

START_FORMS: dict[str, type[forms.Form]] = {
    M.VISIT: VisitForm,
    M.SEND_IN: SendInForm,
    M.SWAP: SwapForm,
}
STEP_FORMS: dict[str, type[forms.Form]] = {
    "propose": ProposeForm,
    "counter": CounterForm,
    "ship_back": ShipBackForm,
}
DONE = {
    "propose": gettext_lazy("The new time is proposed to the shop."),
    "confirm": gettext_lazy("The visit is confirmed."),
    "counter": gettext_lazy("Your time is sent to the technician."),
    "accept_counter": gettext_lazy("The visit is confirmed."),
    "visited": gettext_lazy("The visit is recorded."),
    "received": gettext_lazy("The terminal's arrival is recorded."),
    "repaired": gettext_lazy("The repair is recorded."),
    "ship_back": gettext_lazy("The shipment is recorded: the shop sees its tracking number."),
    "delivered": gettext_lazy("Noted: the terminal has arrived."),
    "old_returned": gettext_lazy("The old terminal's return is recorded."),
}


def _form_page(
    request: HttpRequest, ticket: Ticket, form: forms.Form, title: str, back: str
) -> HttpResponse:
    """The form again, with its errors and what was typed (400)."""
    messages.error(request, _("Check the form below: nothing was done yet."))
    return render(
        request,
        "repairs/step_form.html",
        {"ticket": ticket, "form": form, "title": title, "action": request.path, "back": back},
        status=400,
    )


# The technician ------------------------------------------------------------------------


@require_POST
@login_required
def work_start(request: HttpRequest, reference: str, method: str) -> HttpResponse:
    """`method` comes from the URL conf (one entry per method), never from the client."""
    ticket = technician_ticket(request, reference)
    back = reverse("tickets:work_ticket", args=[ticket.reference])
    form = START_FORMS[method](request.POST)
    if not form.is_valid():
        refusal = services.start_refusal(ticket)
        if refusal is None and not Repair.objects.filter(ticket=ticket).exists():
            return _form_page(request, ticket, form, str(M(method).label), back)
        messages.error(request, refusal or _("How this terminal is repaired is already chosen."))
        return redirect(back)
    data = form.cleaned_data
    try:
        services.start(
            ticket,
            request.user,
            method,
            slot_start=data.get("slot_start"),
            slot_end=data.get("slot_end"),
            centre_address=data.get("centre_address", ""),
            courier=data.get("courier", ""),
            tracking=data.get("tracking", ""),
            replacement_serial=data.get("replacement_serial", ""),
        )
    except workflow.NotAllowed as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The repair is arranged: the shop sees its next step."))
    return redirect(back)


def _step(request: HttpRequest, ticket: Ticket, name: str, role: str, back: str) -> HttpResponse:
    form_class = STEP_FORMS.get(name)
    values: dict = {}
    if form_class is not None:
        form = form_class(request.POST)
        if not form.is_valid():
            repair = Repair.objects.filter(ticket=ticket).first()
            if name in services.allowed_steps(repair, ticket, role):
                return _form_page(request, ticket, form, str(services.STEPS[name].label), back)
            messages.error(request, _("That is not possible on this ticket now."))
            return redirect(back)
        values = {
            key: value
            for key, value in form.cleaned_data.items()
            if key in {"slot_start", "slot_end", "courier", "tracking", "note"}
        }
    try:
        services.take_step(ticket, request.user, name, **values)
    except workflow.NotAllowed as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, str(DONE[name]))
    return redirect(back)


@require_POST
@login_required
def work_step(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    ticket = technician_ticket(request, reference)
    back = reverse("tickets:work_ticket", args=[ticket.reference])
    return _step(request, ticket, name, workflow.TECHNICIAN, back)


# The shop ------------------------------------------------------------------------------


@require_POST
@login_required
def merchant_step(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return _step(request, ticket, name, workflow.MERCHANT, ticket.get_absolute_url())


# The receipt of a billable repair ------------------------------------------------------


def receipt_facts(ticket: Ticket) -> dict | None:
    """What the receipt prints, or None when there is none: a billable ticket, resolved
    or closed, with a quote of its provider accepted (the price the shop agreed to)."""
    if not ticket.billable or ticket.status not in {Ticket.Status.RESOLVED, Ticket.Status.CLOSED}:
        return None
    if ticket.queue_id is None:
        return None
    quote = (
        Quote.objects.filter(
            ticket=ticket, status=Quote.Status.ACCEPTED, provider_id=ticket.queue.provider_id
        )
        .order_by("-decided_at", "-id")
        .first()
    )
    if quote is None:
        return None
    resolved = (
        ticket.events.filter(kind=TicketEvent.Kind.RESOLVED)
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )
    technician = (resolved.actor if resolved else None) or ticket.assigned_to
    return {
        "ticket": ticket,
        "quote": quote,
        "repair": Repair.objects.filter(ticket=ticket).first(),
        "technician": technician,
        "provider": ticket.queue.provider,
        "printed_at": timezone.now(),
    }


def _receipt(request: HttpRequest, ticket: Ticket, back: str) -> HttpResponse:
    facts = receipt_facts(ticket)
    if facts is None:
        raise Http404
    return render(request, "repairs/receipt.html", {**facts, "back": back})


@require_safe
@login_required
def work_receipt(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = technician_ticket(request, reference)
    return _receipt(request, ticket, reverse("tickets:work_ticket", args=[ticket.reference]))


@require_safe
@login_required
def receipt(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    return _receipt(request, ticket, ticket.get_absolute_url())
