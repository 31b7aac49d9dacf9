"""Placeholder views; the device pages are being built."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


@login_required
def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


device_list = device_create = device_import = device_detail = device_edit = device_proof = _todo
