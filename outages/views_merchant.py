"""The merchant's side of outages (being built): "me too", downtime, offline sales."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _not_yet(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404


me_too = payments_back = offline_sales = offline_sales_csv = offline_sales_print = _not_yet
