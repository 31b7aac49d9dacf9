"""Two safety nets every response passes through.

- `PrivateCacheControlMiddleware`: a page or a download for a logged-in user holds that
  user's shop, tickets and receipts. Unless the view said otherwise, it is sent with
  `Cache-Control: private, no-store`, so neither a shared proxy nor the browser's cache
  (the back button on a shop's shared till PC after log-out) keeps a copy. Static files
  never reach it: WhiteNoise answers them earlier, with their own long cache.
- `BadInputMiddleware`: forms refuse a NUL byte with a message (portal.validators). A
  NUL that still reaches a query through a parameter no form reads makes PostgreSQL
  refuse the query; that is the client's malformed input, so it answers 400, never 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.cache import patch_cache_control

logger = logging.getLogger(__name__)


class PrivateCacheControlMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if not response.has_header("Cache-Control") and user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


def _carries_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    sources = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    for data in sources:
        for key, values in data.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return True
    return False


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Only the database's refusal of the NUL the request carried: any other
        # DataError is a bug and stays a 500 with its traceback.
        if isinstance(exception, DataError) and "NUL" in str(exception) and _carries_nul(request):
            logger.warning("Refused a NUL byte in %s %s", request.method, request.path)
            return HttpResponseBadRequest(
                "Bad request: a NUL character is not allowed.", content_type="text/plain"
            )
        return None
