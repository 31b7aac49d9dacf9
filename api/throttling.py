"""Requests per key (or per person, for the browser's session), counted in the shared
cache (Redis in production: every web process counts into one key).

The rate is API_RATE_LIMIT ("600/min"). As portal.limits: when the cache cannot be
reached every request is allowed; the limits guard against floods, not against shops.
The per-merchant filing and per-person message limits (tickets.limits) apply on top,
as on the web pages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class KeyRateThrottle(SimpleRateThrottle):
    scope = "key"

    def get_rate(self) -> str | None:
        # Read at each request, not at import: a setting changed in a test applies.
        return settings.API_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = f"key{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user{request.user.pk}"
        else:
            ident = f"ip{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - the cache is away: allow (see the module's docstring)
            logger.warning("API throttle: the cache cannot be reached; request allowed")
            return True
