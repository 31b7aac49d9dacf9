"""A user name that keeps failing from many addresses is slowed down, never locked.

django-axes locks a user name *at one client address* after AXES_FAILURE_LIMIT
failures, so a stranger cannot lock the admin out from elsewhere. What that leaves open
is guessing one user's password from many addresses. Against it each user name has a
failure count in the shared cache: after LOGIN_SLOWDOWN_AFTER failures, an attempt must
come 1 s after the last failure, then 2 s, 4 s, ... at most LOGIN_SLOWDOWN_MAX_SECONDS,
and only one attempt has each turn (parallel guesses do not share it). An attempt too
soon answers 429 with the wait, and its password is not checked. No CAPTCHA.

A browser that has logged in as that user (or set a new password from a reset e-mail)
carries a signed cookie naming them and is never slowed: the person whose name is
under attack still gets in at once. The count is forgotten AXES_COOLOFF_TIME after the
last failure, or when the user logs in.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core import signing
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

# The log-in pages whose POST is an attempt: ours and the Django admin's.
LOGIN_VIEWS = frozenset({"login", "admin:login"})
COOKIE = "posdesk_known"
COOKIE_SALT = "portal.login_slowdown"
COOKIE_MAX_AGE = 180 * 24 * 3600
COOKIE_NAMES = 5  # user names one browser remembers (a shared shop computer)


def _name(username: str) -> str:
    return hashlib.sha256(username.casefold().encode()).hexdigest()[:32]


def _keys(username: str) -> tuple[str, str]:
    name = _name(username)
    return f"login-failures:{name}", f"login-last-failure:{name}"


def delay(failures: int) -> int:
    """Seconds an attempt must wait after the last failure, with `failures` so far."""
    over = failures - settings.LOGIN_SLOWDOWN_AFTER
    if over < 0:
        return 0
    return min(2 ** min(over, 30), settings.LOGIN_SLOWDOWN_MAX_SECONDS)


def wait_for(request: HttpRequest, username: str, now: float | None = None) -> int:
    """Seconds before `username` may be tried again from this request; 0: now."""
    if not username or username.casefold() in known_names(request):
        return 0
    count_key, last_key = _keys(username)
    try:
        failures = cache.get(count_key, 0)
        needed = delay(failures)
        if not needed:
            return 0
        now = time.time() if now is None else now
        left = cache.get(last_key, 0) + needed - now
        if left > 0:
            return math.ceil(left)
        # One attempt per turn: of parallel guesses at the moment the wait is over,
        # only the first is checked.
        turn = f"login-turn:{_name(username)}:{failures}"
        if not cache.add(turn, 1, timeout=settings.LOGIN_SLOWDOWN_MAX_SECONDS + 60):
            return 1
    except Exception:  # noqa: BLE001 - the cache down: axes' per-address lock-out still holds
        return 0
    return 0


def _forget_after() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


@receiver(user_login_failed, dispatch_uid="login_slowdown_failed")
def count_failure(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = credentials.get("username")
    # A log-in refused by axes' lock-out never reached a password check: not a guess.
    if not username or request is None or getattr(request, "axes_locked_out", False):
        return
    count_key, last_key = _keys(username)
    try:
        cache.add(count_key, 0, timeout=_forget_after())
        cache.incr(count_key)
        cache.touch(count_key, timeout=_forget_after())
        cache.set(last_key, time.time(), timeout=_forget_after())
    except Exception:  # noqa: BLE001, S110 - the cache down: nothing to count in
        pass


@receiver(user_logged_in, dispatch_uid="login_slowdown_logged_in")
def remember_browser(sender: object, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None:
        return
    forget(user.get_username())
    trust_browser(request, user.get_username())


def forget(username: str) -> None:
    try:
        cache.delete_many(list(_keys(username)))
    except Exception:  # noqa: BLE001, S110 - the cache down: nothing to forget
        pass


def trust_browser(request: HttpRequest, username: str) -> None:
    """Mark this browser as one `username` logs in from (the cookie is set by the
    middleware on the response)."""
    names = [username.casefold(), *(n for n in known_names(request) if n != username.casefold())]
    request._known_names = names[:COOKIE_NAMES]


def known_names(request: HttpRequest) -> list[str]:
    try:
        names = signing.loads(
            request.COOKIES.get(COOKIE, ""), salt=COOKIE_SALT, max_age=COOKIE_MAX_AGE
        )
    except signing.BadSignature:
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


class LoginSlowdownMiddleware:
    """Refuses an attempt that comes too soon (before any password is checked), and
    sets the cookie of a browser someone logged in from."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        names = getattr(request, "_known_names", None)
        if names is not None:
            response.set_cookie(
                COOKIE,
                signing.dumps(names, salt=COOKIE_SALT),
                max_age=COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in LOGIN_VIEWS:
            return None
        wait = wait_for(request, request.POST.get("username", ""))
        if not wait:
            return None
        response = render(request, "registration/login_slowed.html", {"seconds": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
