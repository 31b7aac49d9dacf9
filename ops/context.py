"""What a log line is about: the request id, the ticket, the request being served.

Context variables, so each gunicorn thread, Celery task and eager task sees its own.
`ops.middleware.RequestIdMiddleware` fills them for a request; `ops.signals` for a
Celery task, from the message headers the publishing process added.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

request_id: ContextVar[str | None] = ContextVar("posdesk_request_id", default=None)
ticket_reference: ContextVar[str | None] = ContextVar("posdesk_ticket", default=None)
# The request itself: its user and view are read when a line is written, never loaded
# for the log's sake (a page that never needed the user costs no query more).
current_request: ContextVar[HttpRequest | None] = ContextVar("posdesk_request", default=None)
# The Celery task being run: (name, id).
current_task: ContextVar[tuple[str, str] | None] = ContextVar("posdesk_task", default=None)

# Headers of a Celery message that carry the context from the publisher to the worker.
REQUEST_ID_HEADER = "posdesk_request_id"
TICKET_HEADER = "posdesk_ticket"

# What a proxy may send as X-Request-ID: no spaces, quotes or control characters (it is
# written into logs and a response header), at most 128 characters.
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def valid_request_id(value: str | None) -> str | None:
    if value and _VALID_ID.fullmatch(value):
        return value
    return None


def user_id_of(request: HttpRequest | None) -> int | None:
    """The logged-in user's id if the request has loaded its user already, else None."""
    if request is None:
        return None
    user = getattr(request, "_cached_user", None)
    if user is not None and user.is_authenticated:
        return user.pk
    return None


def view_of(request: HttpRequest | None) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else None


def ticket_of(request: HttpRequest | None) -> str | None:
    """The ticket a request is about: set by a filing or a task, or the URL's reference."""
    reference = ticket_reference.get()
    if reference:
        return reference
    match = getattr(request, "resolver_match", None)
    if match is not None and match.kwargs.get("reference"):
        return str(match.kwargs["reference"])
    return None
