"""Checks every input a person types goes through, so no input answers 500.

- Control characters. PostgreSQL refuses a NUL byte in text (a 500 when one reached a
  query), and the other C0/C1 controls (escape, bell, backspace...) are never typed:
  they come from a binary file, a broken paste or a probe. They are refused at the
  field with a message. Multi-line text keeps tab, new line and carriage return.
- Dates in a sensible range: nothing before 1990 (no card terminal is older), no
  purchase in the future, no warranty ending more than WARRANTY_YEARS_AHEAD years from
  today. 0001-01-01 and 9999-12-31 are typos or probes, and the second overflows the
  date arithmetic of warranties.
- Serial numbers as printed on a label: letters, digits and the separators labels use.

Like `tickets.pci.refuse_card_number`, each check is one validator applied to every
field it concerns (model fields, so the admin; plain form fields; search boxes; CSV
cells), and tests/security/test_input_checks.py finds the fields that lack it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# Control characters --------------------------------------------------------------------------

CONTROL_CHARACTERS_MESSAGE = _(
    "Remove the control characters (such as NUL or escape) from this text: "
    "they cannot be stored. Type or paste plain text."
)

# C0 controls, DEL and the C1 controls (Unicode category Cc).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The same without tab, new line and carriage return.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    pattern = _CONTROL_IN_TEXT if multiline else _CONTROL
    return bool(text) and pattern.search(text) is not None


def without_control_characters(text: str) -> str:
    """The text with its control characters removed: for showing back what was refused."""
    return _CONTROL.sub("", text)


@deconstructible(path="portal.validators.NoControlCharacters")
class NoControlCharacters:
    """Refuses control characters; `multiline` keeps tab, new line and carriage return."""

    code = "control_characters"

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and has_control_characters(value, multiline=self.multiline):
            raise ValidationError(CONTROL_CHARACTERS_MESSAGE, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((type(self), self.multiline))


# A one-line field (a name, a serial, a search box) and a multi-line one (a description).
refuse_control_characters = NoControlCharacters()
refuse_control_characters_in_text = NoControlCharacters(multiline=True)


# Dates ---------------------------------------------------------------------------------------

EARLIEST_DATE = date(1990, 1, 1)
WARRANTY_YEARS_AHEAD = 20
# A clock a little ahead of the server's (a phone's) is not a payment in the future.
CLOCK_SLACK = timedelta(minutes=5)


def _refuse_before_1990(value: date) -> None:
    if value < EARLIEST_DATE:
        raise ValidationError(
            _("Enter a date from %(earliest)s on."),
            code="too_early",
            params={"earliest": EARLIEST_DATE.isoformat()},
        )


def _refuse_future_day(value: date, message: str) -> None:
    if value > timezone.localdate():
        raise ValidationError(message, code="future")


def validate_past_date(value: date | None) -> None:
    """A day something happened (a void, a sale): from 1990 up to today."""
    if value is None:
        return
    _refuse_before_1990(value)
    _refuse_future_day(value, _("The date cannot be in the future."))


def validate_purchase_date(value: date | None) -> None:
    if value is None:
        return
    _refuse_before_1990(value)
    _refuse_future_day(value, _("The purchase date cannot be in the future."))


def _refuse_absurd_time(value: datetime | None, message: str) -> None:
    if value is None:
        return
    # Compared as the wall-clock time first: near year 1 or 9999 an aware comparison
    # converts to UTC and overflows.
    _refuse_before_1990(value.replace(tzinfo=None).date())
    now = timezone.now()
    if value.year > now.year + 1 or (
        (value if timezone.is_aware(value) else timezone.make_aware(value)) > now + CLOCK_SLACK
    ):
        raise ValidationError(message, code="future")


def validate_payment_time(value: datetime | None) -> None:
    """When a disputed payment was made: from 1990 up to now."""
    _refuse_absurd_time(value, _("The payment cannot be in the future."))


def validate_past_time(value: datetime | None) -> None:
    """When something happened (a sale, a terminal that stopped): from 1990 up to now."""
    _refuse_absurd_time(value, _("The time cannot be in the future."))


def latest_warranty_end() -> date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + WARRANTY_YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + WARRANTY_YEARS_AHEAD, day=28)


def validate_warranty_end(value: date | None) -> None:
    """A warranty end: from 1990 up to WARRANTY_YEARS_AHEAD years from today."""
    if value is None:
        return
    _refuse_before_1990(value)
    latest = latest_warranty_end()
    if value > latest:
        raise ValidationError(
            _("A warranty cannot end after %(latest)s."),
            code="too_late",
            params={"latest": latest.isoformat()},
        )


def messages_of(validator: Callable[[Any], None], value: object) -> list[str]:
    """The messages `validator` gives for `value`, for checks that list them (CSV rows)."""
    try:
        validator(value)
    except ValidationError as error:
        return list(error.messages)
    return []


# Serial numbers ------------------------------------------------------------------------------

SERIAL_MESSAGE = _(
    "Enter the serial number as printed on the label: letters A–Z and digits, "
    "with - / . _ or a space between them."
)
# Letters and digits, groups joined by one run of the separators printed on labels. No
# emoji, no right-to-left marks or other invisible format characters: a serial must be
# readable on the page exactly as it is on the terminal.
_SERIAL = re.compile(r"[A-Z0-9]+(?:[-/._ ]+[A-Z0-9]+)*", re.ASCII)


def normalise_serial(serial: str) -> str:
    """Serials are compared as printed on the label: no surrounding space, upper case,
    and NFKC so the full-width letters and digits of a Chinese keyboard are the ASCII ones."""
    return unicodedata.normalize("NFKC", serial or "").strip().upper()


def validate_serial(value: str) -> None:
    if value and not _SERIAL.fullmatch(normalise_serial(value)):
        raise ValidationError(SERIAL_MESSAGE, code="serial")
