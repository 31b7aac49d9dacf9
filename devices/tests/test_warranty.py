from __future__ import annotations

from datetime import date, timedelta

import pytest

from devices.models import Device
from devices.warranty import WarrantyStatus, add_months, warranty_status

TODAY = date(2026, 11, 22)


def device(**fields: object) -> Device:
    return Device(**fields)


def test_it_is_in_when_the_warranty_ends_today() -> None:
    assert warranty_status(device(warranty_end=TODAY), on=TODAY) == WarrantyStatus.IN


def test_it_is_out_when_the_warranty_ended_yesterday() -> None:
    assert (
        warranty_status(device(warranty_end=TODAY - timedelta(days=1)), on=TODAY)
        == WarrantyStatus.OUT
    )


def test_it_is_in_when_the_warranty_ends_tomorrow() -> None:
    assert (
        warranty_status(device(warranty_end=TODAY + timedelta(days=1)), on=TODAY)
        == WarrantyStatus.IN
    )


def test_a_voided_warranty_is_out_even_before_its_end() -> None:
    d = device(
        warranty_end=TODAY + timedelta(days=300),
        warranty_void=True,
        warranty_void_reason="Liquid damage",
    )
    assert warranty_status(d, on=TODAY) == WarrantyStatus.OUT


def test_a_voided_warranty_without_an_end_is_out() -> None:
    d = device(warranty_end=None, warranty_void=True, warranty_void_reason="Dropped")
    assert warranty_status(d, on=TODAY) == WarrantyStatus.OUT


def test_it_is_unknown_without_warranty_data() -> None:
    assert warranty_status(device(warranty_end=None), on=TODAY) == WarrantyStatus.UNKNOWN


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2026, 3, 15), 12, date(2027, 3, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected
