"""The merchant's side of outages: "me too" on a known problem, and "we can take
payments again" on a ticket's downtime. (The offline sales log: outages.views_sales.)

Scope as everywhere: the shop's own terminals and tickets (`merchant_of`,
`merchant_ticket`), and only incidents handled by the terminal's provider or acquirer;
anything else is a 404. A refusal (`services.Refused`) becomes a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from outages import services
from outages.forms import MeTooForm
from outages.models import Incident
from portal.access import merchant_of
from tickets.access import merchant_ticket


@require_POST
@login_required
def me_too(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap: a ticket for this terminal, linked to the known problem, no questions."""
    merchant = merchant_of(request)
    form = MeTooForm(merchant, request.POST)
    if not form.is_valid():
        raise Http404  # not one of the shop's terminals (our buttons always carry a token)
    device = form.cleaned_data["device"]
    device.merchant = merchant
    incident = (
        Incident.objects.select_related("provider")
        .filter(pk=pk, provider_id__in=services.handlers_of(device))
        .first()
    )
    if incident is None:
        raise Http404  # another provider's incident: none of this terminal's business
    try:
        ticket = services.me_too(
            incident,
            merchant=merchant,
            device=device,
            user=request.user,
            submission_token=form.cleaned_data["submission_token"],
        )
    except services.Refused as refused:
        # Over since the page was shown, or not this terminal's area: file it normally.
        messages.error(request, str(refused))
        query = urlencode({"device": device.pk, "category": incident.category})
        return redirect(f"{reverse('tickets:new')}?{query}")
    messages.success(
        request,
        _(
            "Ticket %(reference)s follows the known problem: you will hear from %(provider)s "
            "here and by e-mail, and when it is fixed."
        )
        % {"reference": ticket.reference, "provider": incident.provider.name},
    )
    return redirect(ticket)


@require_POST
@login_required
def payments_back(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = merchant_ticket(request, reference)
    try:
        services.payments_back(ticket, request.user)
    except services.Refused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Noted: you can take card payments again."))
    return redirect(ticket)
