"""Never store a full card number (PCI DSS): find one in free text before it is saved.

A card number (PAN) is 13–19 digits that pass the Luhn check. People type it in
groups, and with whatever their keyboard offers between them: "4111 1111 1111 1111",
"4111-1111-1111-1111", "4111.1111.1111.1111", "4111/1111/…", one group per line,
full-width digits on a Chinese phone ("４１１１…"). So the text is normalised (NFKC)
first, then cut into groups of digits joined by any run of separators (white space,
`.`, `-`, `/`, `_`, dashes), and every contiguous sequence of groups whose digits
number 13–19 is tested with Luhn.

Not card numbers, and left alone:
- a single plain run of more than 19 digits (a 20-digit trace number): its pieces are
  never tested, only whole groups are;
- a sequence of at most 15 digits (E.164's longest phone number) starting at a group
  written right after a "+": a phone number in international notation,
  "+86 138 0013 8000", is 13 digits and may pass Luhn. A 16-digit card number after a
  "+" is still refused.

Each group ends at most 19 candidates (a group has at least one digit), so a scan
is linear in the length of the text.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CARD_NUMBER_MESSAGE = _(
    "Never enter a full card number: PCI DSS forbids storing it. The last four digits are enough."
)

MIN_DIGITS = 13
MAX_DIGITS = 19
# The longest phone number in international notation (ITU-T E.164), country code included.
PHONE_MAX_DIGITS = 15

# What may stand between the groups of a typed number, after NFKC (which turns the
# full-width "．－／＿" and the ideographic space into their ASCII forms): white space
# of any kind (new lines, tabs), . - / _, the Unicode dashes and minus sign that word
# processors substitute, and the invisible zero-width characters of a copied text.
_SEPARATOR = r"[\s./_\-\u2010-\u2015\u2212\u00ad\u200b-\u200d\u2060\ufeff]"
# Groups of digits joined by separator runs: one chain per match, never glued to
# another digit. `\d` is any decimal digit, so other scripts' digits count too.
_CHAIN = re.compile(rf"\d+(?:{_SEPARATOR}+\d+)*")
_GROUP = re.compile(r"\d+")


# A digit's Luhn value when it is doubled.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        total += _DOUBLED[value] if index % 2 else value
    return total % 10 == 0


def _chain_has_card_number(text: str, start: int, end: int) -> bool:
    matches = list(_GROUP.finditer(text, start, end))
    groups = [match.group() for match in matches]
    after_plus = [match.start() > 0 and text[match.start() - 1] == "+" for match in matches]
    # Luhn runs from the last digit: for each group a candidate ends with, walk left
    # group by group, adding each digit once, until more than MAX_DIGITS are taken.
    for last in range(len(groups)):
        total = count = 0
        for first in range(last, -1, -1):
            for char in reversed(groups[first]):
                value = int(char)
                total += _DOUBLED[value] if count % 2 else value
                count += 1
            if count > MAX_DIGITS:
                break
            if count < MIN_DIGITS or total % 10:
                continue
            if not (after_plus[first] and count <= PHONE_MAX_DIGITS):
                return True
    return False


def contains_card_number(text: str) -> bool:
    if not text:
        return False
    text = unicodedata.normalize("NFKC", text)
    return any(
        _chain_has_card_number(text, chain.start(), chain.end()) for chain in _CHAIN.finditer(text)
    )


def refuse_card_number(value: object) -> None:
    """A form-field and model-field validator; also for a JSON field (its strings and
    numbers, however deep)."""
    if _holds_card_number(value):
        raise ValidationError(CARD_NUMBER_MESSAGE, code="card_number")


def _holds_card_number(value: object) -> bool:
    if isinstance(value, str):
        return contains_card_number(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return contains_card_number(str(value))
    if isinstance(value, dict):
        return any(_holds_card_number(item) for pair in value.items() for item in pair)
    if isinstance(value, list | tuple):
        return any(_holds_card_number(item) for item in value)
    return False


def mask_card_numbers(text: str) -> tuple[str, int]:
    """`text` with every card number cut to its last four digits ("**** 1111"), and how
    many were cut; for text that cannot be refused back to its writer (an e-mail). The
    digits around a card number in the same chain (a date, a phone) are kept."""
    if not contains_card_number(text):
        return text, 0
    count = 0

    def cut(chain: re.Match) -> str:
        nonlocal count
        piece = chain.group()
        matches = list(_GROUP.finditer(piece))
        out, start = [], 0
        index = 0
        while index < len(matches):
            found = None
            for last in range(index, len(matches)):
                span = piece[matches[index].start() : matches[last].end()]
                if _chain_has_card_number(span, 0, len(span)):
                    found = last
                    break
            if found is None:
                break
            # The shortest run ending at `found` that still holds it.
            first = index
            while first < found:
                span = piece[matches[first + 1].start() : matches[found].end()]
                if not _chain_has_card_number(span, 0, len(span)):
                    break
                first += 1
            digits = "".join(m.group() for m in matches[first : found + 1])
            out.append(piece[start : matches[first].start()])
            out.append("**** " + digits[-4:])
            start = matches[found].end()
            count += 1
            index = found + 1
        out.append(piece[start:])
        return "".join(out)

    masked = _CHAIN.sub(cut, text)
    if contains_card_number(masked):
        # Separators only NFKC reveals (full-width dashes): cut the normalised text.
        masked = _CHAIN.sub(cut, unicodedata.normalize("NFKC", masked))
    return masked, count
