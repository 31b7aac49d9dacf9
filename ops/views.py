"""Operations endpoints: liveness, readiness, metrics (ops.health, ops.metrics).

No log-in: a load balancer, compose and Kubernetes probe them. They say nothing an
outsider could use: no versions, host names or error messages.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ops.health import readiness


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is touched, so a database outage does not get
    every web process restarted (that is what /readyz is for)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, broker and storage each answered in READINESS_TIMEOUT_SECONDS: 200, else 503."""
    ready, answer = readiness()
    return JsonResponse(answer, status=200 if ready else 503)


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>` only.

    Any other request (no token configured, none sent, a wrong one) is a 404: the
    endpoint does not say it exists. Compared in constant time.
    """
    expected = settings.METRICS_TOKEN
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if (
        not expected
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(sent.strip().encode(), expected.encode())
    ):
        raise Http404
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from ops.metrics import registry

    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
