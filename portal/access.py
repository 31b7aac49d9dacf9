"""Whose pages these are: the requester's merchant or provider, or 404 for anyone else.

Every scope helper of the apps (a device, a ticket) starts from one of these, so
"a technician asks for a merchant page" answers the same 404 everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpRequest

if TYPE_CHECKING:
    from devices.models import Merchant, Provider


def merchant_of(request: HttpRequest) -> Merchant:
    merchant = request.user.merchant if request.user.is_authenticated else None
    if merchant is None:
        raise Http404
    return merchant


def provider_of(request: HttpRequest) -> Provider:
    provider = request.user.provider if request.user.is_authenticated else None
    if provider is None:
        raise Http404
    return provider
