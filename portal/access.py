"""Whose pages these are: the user's merchant or provider, or 404 for anyone else.

Every scope helper of the apps (a device, a ticket) starts from one of these, so
"a technician asks for a merchant page" answers the same 404 everywhere. Each takes a
user (`*_for_user`), so the web pages and the API (api/) share one rule; the
request-taking names are the pages' shorthand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404, HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from devices.models import Merchant, Provider
    from portal.models import User


def merchant_for_user(user: User | AnonymousUser) -> Merchant:
    merchant = user.merchant if user.is_authenticated else None
    if merchant is None:
        raise Http404
    return merchant


def provider_for_user(user: User | AnonymousUser) -> Provider:
    provider = user.provider if user.is_authenticated else None
    if provider is None:
        raise Http404
    return provider


def merchant_of(request: HttpRequest) -> Merchant:
    return merchant_for_user(request.user)


def provider_of(request: HttpRequest) -> Provider:
    return provider_for_user(request.user)
