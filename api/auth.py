"""Who calls the API: an API key (`Authorization: Bearer pd_…`), or the browser's own
session (DRF's SessionAuthentication, which enforces CSRF for it).

A key acts as its owner, in the owner's language; an inactive owner's keys answer 401
like a revoked key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from api.models import ApiKey
from portal.language import SUPPORTED

if TYPE_CHECKING:
    from rest_framework.request import Request

    from portal.models import User

BAD_KEY = _("This API key is unknown or revoked.")


class KeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise AuthenticationFailed(BAD_KEY)
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(BAD_KEY) from None
        key = ApiKey.find(token)
        if key is None or not key.user.is_active:
            raise AuthenticationFailed(BAD_KEY)
        key.touch()
        user = key.user
        # The owner's own language, as the web's UserLanguageMiddleware does for a session.
        if user.language in SUPPORTED:
            translation.activate(user.language)
            request._request.LANGUAGE_CODE = user.language
        return user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
