"""What a caller may do: log in (key or session) to read; a read key never writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from api.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class KeyScope(BasePermission):
    message = _("This API key may only read: create a key with the write scope.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        key = request.auth
        return not isinstance(key, ApiKey) or key.can_write
