"""Operations endpoints: liveness, readiness (and metrics, see ops.metrics).

No log-in: a load balancer, compose and Kubernetes probe them. They say nothing an
outsider could use: no versions, host names or error messages.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ops.health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is touched, so a database outage does not get
    every web process restarted (that is what /readyz is for)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database, broker and storage each answered in READINESS_TIMEOUT_SECONDS: 200, else 503."""
    ready, answer = readiness()
    return JsonResponse(answer, status=200 if ready else 503)
