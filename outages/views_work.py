"""The technician's side of outages (being built): incidents of their provider."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _not_yet(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404


incident_list = incident_new = incident_detail = _not_yet
incident_confirm = incident_update = incident_resolve = offline_sales = _not_yet
