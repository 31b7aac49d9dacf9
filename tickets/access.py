"""The one way views fetch a ticket: inside the user's scope, or 404.

A merchant reaches only its own tickets, a technician only tickets in its
provider's queues; anything else answers 404, the same as a ticket that does
not exist, so a guessed reference tells nothing. A technician's queue is
fetched the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from portal.access import merchant_for_user, provider_for_user
from tickets.models import Queue, Ticket
from tickets.workflow import MERCHANT, TECHNICIAN

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User


def merchant_ticket_for(user: User | AnonymousUser, reference: str) -> Ticket:
    """The user's merchant's ticket, or 404 (the web's and the API's one rule)."""
    merchant = merchant_for_user(user)
    try:
        return Ticket.objects.select_related("device__model__brand", "queue__provider").get(
            reference=reference, merchant=merchant
        )
    except Ticket.DoesNotExist:
        raise Http404 from None


def technician_ticket_for(user: User | AnonymousUser, reference: str) -> Ticket:
    """A ticket in the user's provider's queues, or 404."""
    provider = provider_for_user(user)
    try:
        return Ticket.objects.select_related(
            "device__model__brand", "merchant", "queue__provider", "assigned_to"
        ).get(reference=reference, queue__provider=provider)
    except Ticket.DoesNotExist:
        raise Http404 from None


def merchant_ticket(request: HttpRequest, reference: str) -> Ticket:
    return merchant_ticket_for(request.user, reference)


def technician_ticket(request: HttpRequest, reference: str) -> Ticket:
    return technician_ticket_for(request.user, reference)


def technician_queue(request: HttpRequest, pk: int) -> Queue:
    """A queue of the user's provider, or 404 (the queue page's and its export's rule)."""
    return get_object_or_404(Queue, pk=pk, provider=provider_for_user(request.user))


def ticket_for_any_role(request: HttpRequest, reference: str) -> tuple[Ticket, str]:
    """The ticket and the side the user is on ("merchant" or "technician"), or 404.

    For pages both sides share, such as attachment downloads.
    """
    return ticket_for_user(request.user, reference)


def ticket_for_user(user: User | AnonymousUser, reference: str) -> tuple[Ticket, str]:
    """The same for a user (the API's callers)."""
    for role, fetch in ((MERCHANT, merchant_ticket_for), (TECHNICIAN, technician_ticket_for)):
        try:
            return fetch(user, reference), role
        except Http404:
            continue
    raise Http404
