"""Outbox rows and mail servers that misbehave, for the mail tests."""

from __future__ import annotations

import smtplib
from itertools import count

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend

from mail.models import OutboundEmail, message_id_for

_numbers = count(1)


def email(*, key: str = "", **fields: object) -> OutboundEmail:
    """A saved row, pending unless told otherwise; any field can be given."""
    n = next(_numbers)
    key = key or f"test:{n}"
    row = OutboundEmail(
        idempotency_key=key,
        message_id=message_id_for(key),
        kind="test",
        recipient=f"person{n}@example.com",
        subject=f"Subject {n}",
        text=f"Body {n}",
        html=f"<p>Body {n}</p>",
        language="en",
    )
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()
    return row


def backend(name: str) -> dict:
    return {"default": {"BACKEND": f"mail.tests.helpers.{name}"}}


class CountingBackend(EmailBackend):
    """The in-memory outbox, counting the connections opened."""

    opened = 0

    def open(self) -> bool:
        CountingBackend.opened += 1
        return super().open()


class RefusedBackend(EmailBackend):
    """A mail server that refuses connections (down, or a firewall)."""

    def open(self) -> bool:
        raise ConnectionRefusedError(111, "Connection refused")


class DropsAfterOneBackend(EmailBackend):
    """Takes one message, then the connection is gone."""

    def send_messages(self, messages: list[mail.EmailMessage]) -> int:
        if getattr(self, "_took_one", False):
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self._took_one = True
        return super().send_messages(messages)


class RefusesSomeBackend(EmailBackend):
    """A server that answers 550 for `nobody@...` and 451 for `busy@...`."""

    def send_messages(self, messages: list[mail.EmailMessage]) -> int:
        for message in messages:
            address = message.to[0]
            if address.startswith("nobody@"):
                raise smtplib.SMTPRecipientsRefused({address: (550, b"5.1.1 No such user")})
            if address.startswith("busy@"):
                raise smtplib.SMTPRecipientsRefused({address: (451, b"4.3.0 Try again later")})
        return super().send_messages(messages)
