"""Who reads reports: platform admins (staff) every provider's, a provider's managers
their own provider's (Membership.manager). Anyone else answers 404, as in DESIGN.md
"Roles": a technician who is not a manager, a shop, a user with no role."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest

from devices.models import Provider
from portal.access import provider_of


@dataclass(frozen=True)
class Scope:
    admin: bool
    # A manager's own provider; None for an admin (who may pick one).
    provider: Provider | None


def report_scope(request: HttpRequest) -> Scope:
    user = request.user
    if user.is_authenticated and user.is_staff:
        return Scope(admin=True, provider=None)
    provider = provider_of(request)
    membership = user._membership
    if membership is None or not membership.manager:
        raise Http404
    return Scope(admin=False, provider=provider)
