"""tickets.pci: a full card number is found however it is typed; phone numbers, dates,
amounts and long trace numbers are not card numbers."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from tickets.pci import contains_card_number, luhn_valid, refuse_card_number

# Luhn-valid numbers: a 16-digit Visa, a 19-digit UnionPay-style, a 13-digit Visa test
# number and a 15-digit Amex test number.
VISA = "4111111111111111"
UNIONPAY_19 = "6217 0012 3456 7890 122"
VISA_13 = "4222222222222"
AMEX = "378282246310005"


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111_1111_1111_1111",
        "4111  1111   1111 1111",
        "4111 - 1111 - 1111 - 1111",
        "4111\n1111\n1111\n1111",
        "4111\r\n1111\r\n1111\r\n1111",
        "4111\t1111\t1111\t1111",
        VISA,
        "４１１１１１１１１１１１１１１１",  # full-width digits, typed on a Chinese phone
        "４１１１　１１１１　１１１１　１１１１",  # ... with ideographic spaces
        "４１１１－１１１１－１１１１－１１１１",  # ... with full-width dashes
        "4111–1111–1111–1111",  # en dashes, as a word processor writes them
        "4111\u200b1111\u200b1111\u200b1111",  # zero-width spaces of a copied text
        UNIONPAY_19,
        VISA_13,
        AMEX,
        "Customer card 4111.1111.1111.1111 was charged twice",
        "card:4111111111111111.",
        "4111 1111 1111 1111 2025",  # followed by a year
        "2026-11-30 14:05 4111 1111 1111 1111",  # after a date
        "+4111 1111 1111 1111",  # 16 digits after a "+" are no phone number
        "tel +86 138 0013 8000, card 4111/1111/1111/1111",
    ],
)
def test_a_card_number_is_found_however_it_is_written(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "trace 12345678901234567890123",  # one plain group of more than 19 digits
        "+86 138 0013 8000",  # a phone number in international notation
        "+86 138 0013 8002",  # ... whose 13 digits pass the Luhn check
        "+8613800138002",
        "Call +86 138 0013 8002 after 18:00",
        "2026-11-30 14:05",
        "2026/11/30 14:05:33",
        "amount 1234.56 CNY",
        "¥1,234.56",
        "error 11 at 2026-01-05 10:15, amount 88.50",
        "4111 1111 1111 1112",  # fails the Luhn check
        "4111111111111112",
        "Card ending 1111",
        "SN00000012",
        "400-820-1234",
    ],
)
def test_what_is_not_a_card_number_passes(text: str) -> None:
    assert not contains_card_number(text)


def test_the_plus_exemption_is_checked_against_luhn() -> None:
    # Without the "+" the same digits are a Luhn-valid 13-digit run: the exemption is
    # what lets an international phone number through.
    assert luhn_valid("8613800138002")
    assert contains_card_number("86 138 0013 8002")


def test_the_validator_refuses_with_its_code() -> None:
    with pytest.raises(ValidationError) as refused:
        refuse_card_number("4111.1111.1111.1111")
    assert refused.value.code == "card_number"
    refuse_card_number("Error 11, restarted twice")
    refuse_card_number(None)


def test_the_validator_reads_json_values() -> None:
    with pytest.raises(ValidationError):
        refuse_card_number(["restart", {"note": "4111 1111 1111 1111"}])
    with pytest.raises(ValidationError):
        refuse_card_number(4111111111111111)
    refuse_card_number(["restart", "paper", {"n": 3}, True])


@pytest.mark.parametrize(
    "text",
    [
        "1 " * 2500,  # the most groups a text can have
        "4111 1112 " * 500,
        "1" * 5000,
        "Error 11 at 2026-01-05 10:15, amount 88.50. " * 110,
    ],
)
def test_a_long_text_is_scanned_quickly(text: str) -> None:
    started = time.perf_counter()
    contains_card_number(text[:5000])
    # Linear: a few milliseconds; the bound only catches a quadratic regression.
    assert time.perf_counter() - started < 0.5
