"""Error tracking: off without SENTRY_DSN; with it, an error reaches Sentry with no phone,
e-mail, description, request body or cookie in it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.test import Client
from django.urls import path
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from ops import sentry
from ops.sentry import FILTERED, scrub, scrub_text

PHONE = "+86 138 0013 8000"
EMAIL = "shop.owner@example.com"
DESCRIPTION = "Screen dark since Monday, call my wife on 13800138000"


def test_it_is_off_without_a_dsn() -> None:
    assert sentry.init_sentry(dsn="") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"could not mail {EMAIL}", "could not mail [email]"),
        (f"call {PHONE} now", "call [phone] now"),
        ("call 13800138000", "call [phone]"),
        ("call (021) 6234-5678", "call [phone]"),
        ("card 4111 1111 1111 1111 declined", "card [phone] declined"),
        (
            "https://posdesk.example.com/accounts/password/reset/MQ/cz9k-4f2a1b/",
            "https://posdesk.example.com/accounts/password/reset/[uid]/[token]/",
        ),
        ("/accounts/password/reset/sent/", "/accounts/password/reset/sent/"),
        # Not personal: kept.
        ("ticket PD-000123 routed to queue 12", "ticket PD-000123 routed to queue 12"),
        ("due 2026-03-02 12:30:00", "due 2026-03-02 12:30:00"),
        ("took 1234 ms", "took 1234 ms"),
    ],
)
def test_the_scrubber_replaces_emails_and_phones_in_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_the_scrubber_removes_personal_data_from_an_event() -> None:
    event = {
        "message": f"mail to {EMAIL} failed",
        "request": {
            "url": "https://posdesk.example.com/tickets/new/",
            "query_string": f"q={EMAIL}",
            "data": {"description": DESCRIPTION, "callback_phone": PHONE},
            "cookies": {"sessionid": "abc", "csrftoken": "def"},
            "headers": {"Cookie": "sessionid=abc", "Authorization": "Bearer k", "Accept": "*/*"},
        },
        "exception": {
            "values": [
                {
                    "type": "SMTPRecipientsRefused",
                    "value": f"{{'{EMAIL}': (550, b'no such user')}}",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "ticket_file",
                                "vars": {
                                    "description": DESCRIPTION,
                                    "callback_phone": PHONE,
                                    "ticket": "<Ticket: PD-000123>",
                                    "note": f"ring {PHONE}",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": f"sending to {EMAIL}", "category": "mail"}]},
        "extra": {"email": EMAIL, "attempts": 3},
    }
    scrubbed = scrub(event, {})
    text = json.dumps(scrubbed)
    for personal in (EMAIL, PHONE, DESCRIPTION, "13800138000", "sessionid=abc", "Bearer k"):
        assert personal not in text, personal
    assert "data" not in scrubbed["request"]
    assert "cookies" not in scrubbed["request"]
    assert scrubbed["request"]["headers"]["Accept"] == "*/*"
    frame = scrubbed["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["vars"]["description"] == FILTERED
    assert frame["vars"]["ticket"] == "<Ticket: PD-000123>"
    assert scrubbed["exception"]["values"][0]["type"] == "SMTPRecipientsRefused"
    assert scrubbed["extra"] == {"email": FILTERED, "attempts": 3}
    assert scrubbed["message"] == "mail to [email] failed"


# An error in a real request, through sentry-sdk's Django integration ----------------------


class Captured(Transport):
    events: list[dict] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type == "event":
                Captured.events.append(json.loads(item.payload.get_bytes()))


def broken_view(request):  # noqa: ANN001, ANN201
    raise RuntimeError(f"could not call {request.POST.get('callback_phone')}")


urlpatterns = [path("broken/", broken_view)]


@pytest.fixture
def sentry_on() -> Iterator[list[dict]]:
    Captured.events = []
    sentry.init_sentry(dsn="https://public@sentry.example.invalid/1")
    client = sentry_sdk.get_client()
    client.transport = Captured(client.options)
    yield Captured.events
    sentry_sdk.init()  # no DSN: off again


@pytest.mark.urls(__name__)
def test_a_request_error_reaches_sentry_scrubbed(sentry_on: list[dict], settings) -> None:
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a-session-cookie"
    response = client.post(
        "/broken/",
        {"description": DESCRIPTION, "callback_phone": PHONE, "email": EMAIL},
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    (event,) = sentry_on
    text = json.dumps(event)
    assert "RuntimeError" in text
    for personal in (EMAIL, PHONE, DESCRIPTION, "a-session-cookie"):
        assert personal not in text, personal
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert not any("vars" in frame for frame in frames)
    assert event["tags"]["request_id"] == response["X-Request-ID"]
