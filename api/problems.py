"""Every API error as `application/problem+json` (RFC 9457): type, title, status,
detail, and `errors` (one per field: the field, its message, a code) for invalid input.

Titles and details are in the caller's language (the key owner's, or the session's).
A refusal of the ticket's life (`workflow.NotAllowed`) is a 409 with the workflow's own
sentence; anything outside the caller's scope is the web's 404, never a hint.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tickets.workflow import NotAllowed

PROBLEM = "application/problem+json"
TYPE_BASE = "https://posdesk.example/problems/"

TITLES = {
    400: gettext_lazy("Invalid request"),
    401: gettext_lazy("Not authenticated"),
    403: gettext_lazy("Not allowed"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    406: gettext_lazy("Not acceptable"),
    409: gettext_lazy("Not possible now"),
    413: gettext_lazy("Too large"),
    415: gettext_lazy("Unsupported media type"),
    429: gettext_lazy("Too many requests"),
    503: gettext_lazy("Service unavailable"),
}
SLUGS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
    503: "unavailable",
}


class Conflict(exceptions.APIException):
    """The ticket's state or the terminal's forbids it now (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.extra = extra or {}


class Unavailable(exceptions.APIException):
    """Nothing was done for a reason on our side (a full disk): try again later (503)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"


class Limited(exceptions.APIException):
    """Over a per-merchant or per-person limit of tickets.limits (429, Retry-After)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "rate_limited"

    def __init__(self, detail: str, wait: int) -> None:
        super().__init__(detail)
        self.wait = wait


def form_invalid(form: Any) -> exceptions.ValidationError:
    """A Django form's errors as the API's field errors, with the form's own codes
    ("__all__" for the form's own)."""
    return exceptions.ValidationError(
        {
            field: [
                ErrorDetail(error["message"], code=error["code"] or "invalid") for error in errs
            ]
            for field, errs in form.errors.get_json_data().items()
        }
    )


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested ValidationError detail as a flat list of {field, detail, code}."""
    found: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.extend(_flatten(value, name))
    elif isinstance(detail, list):
        for n, value in enumerate(detail):
            if isinstance(value, dict | list) and value:
                found.extend(_flatten(value, f"{prefix}[{n}]" if prefix else str(n)))
            else:
                found.extend(_flatten(value, prefix))
    else:
        found.append(
            {
                "field": prefix or "__all__",
                "detail": str(detail),
                "code": getattr(detail, "code", "invalid") or "invalid",
            }
        )
    return found


def problem(
    status_code: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + SLUGS.get(status_code, "error"),
        "title": str(TITLES.get(status_code, _("Error"))),
        "status": status_code,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, NotAllowed):
        exc = Conflict(str(exc))
    if not isinstance(exc, exceptions.APIException):
        return None  # a 500: Django's handler and the error log
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    set_rollback()
    extra = getattr(exc, "extra", {})
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        return problem(
            exc.status_code,
            _("Some fields are not valid: nothing was done."),
            errors=errors,
            headers=headers,
            **extra,
        )
    if exc.status_code == 404:
        detail = _("Nothing here, or nothing you may see.")
    elif isinstance(exc, exceptions.Throttled):
        detail = _("Too many requests with this key: try again in %(seconds)d seconds.") % {
            "seconds": max(1, int(exc.wait or 1))
        }
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, list | dict) else str(exc)
    return problem(exc.status_code, detail, headers=headers, **extra)
