"""Each person reads PosDesk in their own language, whatever device they log in from.

A user's language is set from the browser at their first log-in, changed from the
switch in the menu, and used for every page they see and every e-mail sent to them.
Anonymous visitors get the browser's choice (LocaleMiddleware) or the switch's cookie.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from portal.auth import forget_users

SUPPORTED = {code for code, _name in settings.LANGUAGES}


class UserLanguageMiddleware:
    """After authentication: a logged-in user's own language wins over the browser's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None else ""
        if language in SUPPORTED and user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


@receiver(user_logged_in)
def remember_the_browsers_language(sender, request, user, **kwargs) -> None:  # noqa: ANN001, ANN003
    """The first log-in keeps the language the browser asks for (or the site's default
    when it asks for one PosDesk does not speak)."""
    if user.language or request is None:
        return
    asked = request.headers.get("Accept-Language") or request.COOKIES.get(
        settings.LANGUAGE_COOKIE_NAME
    )
    if not asked:
        return  # no browser said anything (a script, a test client): ask again next time
    chosen = translation.get_language_from_request(request)
    user.language = chosen if chosen in SUPPORTED else settings.LANGUAGE_CODE
    get_user_model().objects.filter(pk=user.pk).update(language=user.language)
    forget_users([user.pk])  # the cached copy (portal.auth) has the old one


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's switch (cookie and redirect back), and the user's own setting with it."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in SUPPORTED and language != user.language:
        user.language = language
        get_user_model().objects.filter(pk=user.pk).update(language=language)
        forget_users([user.pk])  # the cached copy (portal.auth) has the old one
    return response


def language_of(user: object) -> str:
    """The language to write to `user` in (e-mails): theirs, else the site's default."""
    language = getattr(user, "language", "")
    return language if language in SUPPORTED else settings.LANGUAGE_CODE
