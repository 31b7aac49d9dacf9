"""The CSV import service on its own: parsing, every kind of bad row, all-or-nothing."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import World
from devices import importer
from devices.models import Device, Provider
from tests.factories import BrandFactory, DeviceFactory, DeviceModelFactory, ProviderFactory

HEADER = "brand,model,serial,purchase date,provider,acquirer,location\n"
TODAY = date(2026, 11, 22)


@pytest.fixture
def catalogue(world: World) -> World:
    pax = BrandFactory(name="PAX")
    DeviceModelFactory(brand=pax, name="A920", default_warranty_months=24)
    DeviceModelFactory(brand=pax, name="S920")
    ProviderFactory(name="PayServe Tech", kind=Provider.Kind.THIRD_PARTY)
    return world


def csv(*rows: str) -> str:
    return HEADER + "".join(f"{row}\n" for row in rows)


def test_a_good_file_is_valid(catalogue: World) -> None:
    preview = importer.check_csv(
        csv(
            "PAX,A920,sn-1,2026-03-14,Provider X,Provider X,Front counter",
            "pax, s920 , SN-2 ,,provider y,,",
        ),
        today=TODAY,
    )
    assert preview.is_valid, [r.errors for r in preview.rows]
    first, second = preview.rows
    assert first.serial == "SN-1"
    assert first.purchase_date == date(2026, 3, 14)
    assert second.device_model.name == "S920"
    assert second.acquirer is None


def test_a_byte_order_mark_is_accepted() -> None:
    assert importer.decode("\ufeffbrand,model".encode()) == "brand,model"


def test_a_file_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(importer.CsvRejected):
        importer.decode("brand,model\nPAX,收银机\n".encode("gb18030"))


def test_a_file_over_the_size_cap_is_rejected() -> None:
    with pytest.raises(importer.CsvRejected):
        importer.decode(b"x" * (importer.MAX_BYTES + 1))


def test_every_bad_row_is_reported_with_its_reason(catalogue: World) -> None:
    DeviceFactory(model=catalogue.device_a.model, serial_number="TAKEN-1")
    taken_brand = catalogue.device_a.model.brand.name
    taken_model = catalogue.device_a.model.name
    preview = importer.check_csv(
        csv(
            "PAX,A920,OK-1,2026-01-01,Provider X,,",  # line 2: fine
            "Acme,A920,BAD-1,2026-01-01,Provider X,,",  # 3: unknown brand
            "PAX,Z999,BAD-2,2026-01-01,Provider X,,",  # 4: unknown model
            "PAX,A920,,2026-01-01,Provider X,,",  # 5: missing serial
            "PAX,A920,BAD-3,14/03/2026,Provider X,,",  # 6: bad date
            "PAX,A920,BAD-4,2026-02-30,Provider X,,",  # 7: impossible date
            "PAX,A920,BAD-5,2027-01-01,Provider X,,",  # 8: future date
            "PAX,A920,BAD-6,2026-01-01,Nobody Pay,,",  # 9: unknown provider
            "PAX,A920,BAD-7,2026-01-01,Provider X,PayServe Tech,",  # 10: not an acquirer
            "PAX,A920,DUP-1,2026-01-01,Provider X,,",  # 11: duplicate in file
            "PAX,A920,dup-1,2026-01-01,Provider X,,",  # 12: duplicate in file
            f"{taken_brand},{taken_model},taken-1,2026-01-01,Provider X,,",  # 13: in database
            "PAX,A920,BAD-8",  # 14: too few values
        ),
        today=TODAY,
    )
    assert not preview.is_valid
    errors = {row.line: " ".join(row.errors) for row in preview.rows}
    assert len(preview.rows) == 13
    assert errors[2] == ""
    assert "Unknown brand “Acme”" in errors[3]
    assert "Unknown model “Z999”" in errors[4]
    assert "serial number is missing" in errors[5]
    assert "YYYY-MM-DD" in errors[6]
    assert "YYYY-MM-DD" in errors[7]
    assert "future" in errors[8]
    assert "Unknown provider “Nobody Pay”" in errors[9]
    assert "cannot be the acquirer" in errors[10]
    assert "also on line 12" in errors[11]
    assert "also on line 11" in errors[12]
    assert "already registered" in errors[13]
    assert "Expected 7 values, found 3" in errors[14]
    assert preview.valid_count == 1


def test_the_header_must_name_every_column(catalogue: World) -> None:
    preview = importer.check_csv("brand,model,serial\nPAX,A920,X1\n")
    assert not preview.is_valid
    assert "missing: purchase date, provider, acquirer, location" in preview.file_errors[0]


def test_columns_may_come_in_any_order_and_spelling(catalogue: World) -> None:
    text = "Location,Serial Number,Model,Brand,Purchase_Date,Service Provider,Acquirer\n"
    text += "Till 1,X1,A920,PAX,2026-01-01,Provider X,Provider Y\n"
    preview = importer.check_csv(text, today=TODAY)
    assert preview.is_valid
    assert preview.rows[0].values["location"] == "Till 1"


def test_an_empty_file_says_so(catalogue: World) -> None:
    assert importer.check_csv("").file_errors
    assert importer.check_csv(HEADER).file_errors


def test_more_rows_than_the_cap_are_refused(catalogue: World, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    preview = importer.check_csv(
        csv(*(f"PAX,A920,X{n},,Provider X,," for n in range(5))), today=TODAY
    )
    assert not preview.is_valid
    assert preview.file_errors


def test_checking_runs_the_same_queries_for_2_or_200_rows(catalogue: World) -> None:
    with CaptureQueriesContext(connection) as two:
        importer.check_csv(csv(*(f"PAX,A920,Q{n},,Provider X,," for n in range(2))))
    with CaptureQueriesContext(connection) as many:
        importer.check_csv(csv(*(f"PAX,A920,Q{n},,Provider X,," for n in range(200))))
    assert len(many) == len(two)


def test_import_creates_every_row_for_the_merchant(catalogue: World) -> None:
    result = importer.import_terminals(
        csv(
            "PAX,A920,IMP-1,2026-03-14,Provider X,Provider Y,Till 1", "PAX,S920,IMP-2,,Provider Y,,"
        ),
        merchant=catalogue.merchant_a,
    )
    assert result.imported
    one, two = (Device.objects.get(serial_number=s) for s in ("IMP-1", "IMP-2"))
    assert one.merchant == catalogue.merchant_a
    assert one.warranty_end == date(2028, 3, 14)  # the model's 24 months
    assert one.acquirer == catalogue.provider_y
    assert two.warranty_status() == "unknown"


def test_import_writes_nothing_when_one_row_is_bad(catalogue: World) -> None:
    before = Device.objects.count()
    result = importer.import_terminals(
        csv("PAX,A920,IMP-1,,Provider X,,", "PAX,A920,IMP-2,,Nobody,,"),
        merchant=catalogue.merchant_a,
    )
    assert not result.imported
    assert Device.objects.count() == before


def test_a_serial_registered_during_the_import_rolls_everything_back(
    catalogue: World,
    monkeypatch,  # noqa: ANN001
) -> None:
    text = csv("PAX,A920,RACE-1,,Provider X,,", "PAX,A920,RACE-2,,Provider X,,")
    stale = importer.check_csv(text)  # what the check saw, before the race
    DeviceFactory(
        merchant=catalogue.merchant_a, model=stale.rows[1].device_model, serial_number="RACE-2"
    )
    real_check = importer.check_csv
    calls = iter([stale])
    monkeypatch.setattr(
        importer, "check_csv", lambda t, **kw: next(calls, None) or real_check(t, **kw)
    )

    result = importer.import_terminals(text, merchant=catalogue.merchant_a)

    assert not result.imported
    assert "already registered" in " ".join(result.preview.rows[1].errors)
    assert not Device.objects.filter(serial_number="RACE-1").exists()
