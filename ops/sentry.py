"""Error tracking with sentry-sdk (Django and Celery integrations), on when SENTRY_DSN
is set, with personal data taken out before anything leaves the process.

What a merchant typed never goes to Sentry: request bodies are not sent at all
(`max_request_body_size="never"`), cookies and the Authorization header are dropped,
and `scrub()` (the `before_send` and `before_breadcrumb` hook) walks the whole event:

- values under keys that hold personal data or secrets (a description, a phone number,
  an e-mail address, a message body, a password, a token...) become "[Filtered]";
- e-mail addresses, phone numbers (also card-number-like runs of digits) and
  password-reset links inside any other string (an exception's message, a log line, a
  URL) are replaced, so "could not mail ann@example.com" arrives as "could not mail
  [email]".

Stack traces carry no local variables (`include_local_variables=False`): a description
passed as a positional argument, or a session key in a query's parameters, has no key
that says what it is, and no pattern finds a free text.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"

# Keys (compared lower-case, `-` read as `_`) whose value is replaced whatever it holds.
SENSITIVE_KEYS = frozenset(
    {
        "description",
        "callback_phone",
        "phone",
        "mobile",
        "email",
        "e_mail",
        "to",
        "cc",
        "bcc",
        "reply_to",
        "recipients",
        "address",
        "contact",
        "contact_name",
        "body",
        "text",
        "note",
        "comment",
        "reply",
        "data",
        "cookies",
        "cookie",
        "authorization",
        "password",
        "password1",
        "password2",
        "old_password",
        "new_password1",
        "new_password2",
        "secret",
        "token",
        "api_key",
        "csrfmiddlewaretoken",
        "csrftoken",
        "sessionid",
        "x_api_key",
        "x_posdesk_mail_token",
        "card_last4",
        "txn_reference",
        "serial_number",
        "session_key",
        "params",
    }
)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 7 to 19 digits, optionally led by + and grouped by single spaces, dashes, dots or
# brackets: phone numbers in any common writing, and card numbers.
PHONE = re.compile(r"(?<![\w.])\+?\(?\d(?:[\s().-]{0,2}\d){6,18}(?![\w])")
# What PHONE would also take and is not personal: dates and times.
_NOT_PHONE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}(?::\d{2})*)?")


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _NOT_PHONE.fullmatch(text) else "[phone]"


# A password-reset link is a credential until it is used: its uid and token go.
RESET_LINK = re.compile(r"(/accounts/password/reset/)[^/\s?#]+/[^/\s?#]+/")


def scrub_text(text: str) -> str:
    text = RESET_LINK.sub(r"\1[uid]/[token]/", text)
    return PHONE.sub(_phone, EMAIL.sub("[email]", text))


def _sensitive(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SENSITIVE_KEYS


def scrub_value(value: Any, depth: int = 0) -> Any:  # noqa: ANN401
    """`value` with sensitive keys filtered and e-mails and phones replaced, recursively."""
    if depth > 20:
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: FILTERED if _sensitive(key) else scrub_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Sentry writes headers as [name, value] pairs.
        if len(value) == 2 and _sensitive(value[0]):
            return [value[0], FILTERED]
        return [scrub_value(item, depth + 1) for item in value]
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry's before_send: the event with no request body, cookie or personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if name.lower() in {"cookie", "authorization", "x-api-key"}:
                    headers[name] = FILTERED
    # The id that finds the same request's log lines (ops.logs).
    from ops import context

    request_id = context.request_id.get()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return scrub_value(event)


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return scrub_value(crumb)


def init_sentry(*, dsn: str, environment: str = "", release: str = "") -> bool:
    """Start sentry-sdk when `dsn` is set; False (nothing started) when it is empty."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No user's e-mail, name or address (sentry-sdk's default, send_default_pii off,
        # which it now deprecates naming), no request bodies.
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub,
        before_breadcrumb=scrub_breadcrumb,
        # Errors only: performance tracing would send every request's URL and timing.
        traces_sample_rate=0.0,
    )
    return True
