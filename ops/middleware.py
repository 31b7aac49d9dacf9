"""Every request gets an id, said in each log line it causes and in its response.

The id comes from the `X-Request-ID` header when a trusted proxy is in front
(TRUSTED_PROXY_COUNT > 0: the proxy sets or overwrites it; a client's own value would
otherwise let it forge log lines of another request), else it is made here. It is
returned as `X-Request-ID`, and Celery tasks published while serving the request carry
it (ops.signals), so a ticket's filing, routing and e-mails share one id.

One log line per request at its end (`posdesk.request`), with the method, path (never
the query string: searches hold what people typed; a password-reset link's route, not its
token), status and time taken; the probes
(/healthz, /readyz, /metrics) and static files at DEBUG only. The same time goes into
the request latency histogram, by view (the URL's name: a bounded set, unlike paths).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from ops import context

logger = logging.getLogger("posdesk.request")

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# Any other method is one label value, so a scanner cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# URL parts that are credentials (a password-reset link's token): the route is logged.
SECRET_KWARGS = frozenset({"token", "uidb64"})


def logged_path(request: HttpRequest) -> str:
    """The path, or its route where the path holds a secret (a log is read by many)."""
    match = getattr(request, "resolver_match", None)
    if match is not None and SECRET_KWARGS & set(match.kwargs):
        return "/" + match.route
    return request.path


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Imported here, in a serving process, not when a management command's checks
        # import this module: each importing process leaves a samples file behind.
        from ops import metrics

        self.metrics = metrics
        # Files WhiteNoise serves: one "static" series, and DEBUG lines (a page brings
        # several; they would bury the page's own line).
        self.static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        sent = None
        if settings.TRUSTED_PROXY_COUNT > 0:
            sent = context.valid_request_id(request.headers.get("X-Request-ID"))
        request_id = sent or context.new_request_id()
        request.request_id = request_id
        tokens = (
            context.request_id.set(request_id),
            context.current_request.set(request),
            context.ticket_reference.set(None),
        )
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            seconds = time.perf_counter() - started
            duration_ms = round(seconds * 1000, 1)
            static = request.path.startswith(self.static_prefix)
            if request.path not in PROBES:
                self.metrics.REQUEST_LATENCY.labels(
                    view="static" if static else context.view_of(request) or "unresolved",
                    method=request.method if request.method in METHODS else "other",
                    status=self.metrics.status_class(response.status_code),
                ).observe(seconds)
            level = logging.DEBUG if static or request.path in PROBES else logging.INFO
            path = logged_path(request)
            logger.log(
                level,
                "%s %s %s %.1f ms",
                request.method,
                path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
            return response
        finally:
            context.ticket_reference.reset(tokens[2])
            context.current_request.reset(tokens[1])
            context.request_id.reset(tokens[0])
