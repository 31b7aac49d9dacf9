"""Requests per key (or per person, for the browser's session), counted in the shared
cache (Redis in production: every web process counts into one key).

A DRF throttle counted by portal.limits, the web's own sliding window: one atomic
increment per request, not DRF's list of every request's time pickled back and forth;
and, as there, when the cache cannot be reached every request is allowed (the limits
guard against floods, not against shops). The rate is API_RATE_LIMIT ("600/min").
The per-merchant filing and per-person message limits (tickets.limits) apply on top, as
on the web pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from api.models import ApiKey
from portal import limits

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


def api_rate() -> tuple[int, int] | None:
    """(count, seconds) from API_RATE_LIMIT, read at each request (tests change it)."""
    rate = settings.API_RATE_LIMIT
    if not rate:
        return None
    count, seconds = SimpleRateThrottle.parse_rate(None, rate)
    return count, seconds


class KeyRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, ApiKey):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        refusal = limits.use("api", ident, api_rate())
        if refusal is None:
            return True
        self.retry_after = refusal.retry_after
        return False

    def wait(self) -> float | None:
        return self.retry_after
