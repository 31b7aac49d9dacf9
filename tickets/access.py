"""The one way views fetch a ticket: inside the user's scope, or 404.

A merchant reaches only its own tickets, a technician only tickets in its
provider's queues; anything else answers 404, the same as a ticket that does
not exist, so a guessed reference tells nothing.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from portal.access import merchant_of, provider_of
from tickets.models import Ticket
from tickets.workflow import MERCHANT, TECHNICIAN


def merchant_ticket(request: HttpRequest, reference: str) -> Ticket:
    merchant = merchant_of(request)
    try:
        return Ticket.objects.select_related("device__model__brand", "queue__provider").get(
            reference=reference, merchant=merchant
        )
    except Ticket.DoesNotExist:
        raise Http404 from None


def technician_ticket(request: HttpRequest, reference: str) -> Ticket:
    provider = provider_of(request)
    try:
        return Ticket.objects.select_related(
            "device__model__brand", "merchant", "queue__provider", "assigned_to"
        ).get(reference=reference, queue__provider=provider)
    except Ticket.DoesNotExist:
        raise Http404 from None


def ticket_for_any_role(request: HttpRequest, reference: str) -> tuple[Ticket, str]:
    """The ticket and the side the user is on ("merchant" or "technician"), or 404.

    For pages both sides share, such as attachment downloads.
    """
    for role, fetch in ((MERCHANT, merchant_ticket), (TECHNICIAN, technician_ticket)):
        try:
            return fetch(request, reference), role
        except Http404:
            continue
    raise Http404
