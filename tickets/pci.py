"""Never store a full card number (PCI DSS): find one in free text before it is saved.

A card number (PAN) is 13–19 digits that pass the Luhn check, often typed in
groups ("4111 1111 1111 1111" or with dashes). Text is scanned for runs of digits
separated by at most one space or dash; each run, and each sequence of its
groups, of 13–19 digits is tested. A longer plain digit run (a 20-digit trace
number) is not a card number and is left alone.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CARD_NUMBER_MESSAGE = _(
    "Never enter a full card number: PCI DSS forbids storing it. The last four digits are enough."
)

# Digits with single spaces or dashes between them, not glued to other digits.
_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d)*(?!\d)")
_GROUP_SPLIT = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _candidates(run: str) -> list[str]:
    groups = _GROUP_SPLIT.split(run)
    found = []
    for start in range(len(groups)):
        digits = ""
        for group in groups[start:]:
            digits += group
            if len(digits) > 19:
                break
            if len(digits) >= 13:
                found.append(digits)
    return found


def contains_card_number(text: str) -> bool:
    if not text:
        return False
    for match in _RUN.finditer(text):
        if any(luhn_valid(digits) for digits in _candidates(match.group())):
            return True
    return False


def refuse_card_number(value: object) -> None:
    """A form-field validator."""
    if isinstance(value, str) and contains_card_number(value):
        raise ValidationError(CARD_NUMBER_MESSAGE, code="card_number")
