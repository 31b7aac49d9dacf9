"""Issue 11: no input answers 500, and what a person types is checked where it is typed.

- A NUL byte or another control character is refused, with a message at the field, in
  every free-text field of every model (so every admin form) and every form, search
  boxes included; multi-line text keeps its tabs and new lines.
- Every date a person types is in a sensible range.

Like test_card_numbers.py (whose discovery and allow-list this reuses, so one list says
which text fields are not free text), the fields are found, not written down.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.urls import reverse

from conftest import World
from devices import importer
from devices.models import Device
from portal.validators import (
    CONTROL_CHARACTERS_MESSAGE,
    NoControlCharacters,
    latest_warranty_end,
    validate_serial,
)
from tests.factories import DeviceFactory
from tests.security.test_card_numbers import (
    FORM_CASES,
    NOT_FREE_TEXT,
    FormCase,
    Setting,
    is_free_text,
    is_historical,
    project_models,
)
from tickets.models import Queue, Ticket
from tickets.tests.filing_helpers import filing_data

MESSAGE = str(CONTROL_CHARACTERS_MESSAGE)

CONTROLLED = [
    pytest.param("Till\x00 4", id="nul"),
    pytest.param("Till\x1b[31m 4", id="escape"),
    pytest.param("Till\x07 4", id="bell"),
    pytest.param("Till\x7f 4", id="delete"),
    pytest.param("Till\x85 4", id="c1-next-line"),
]


def is_multiline(field: forms.Field) -> bool:
    return isinstance(field.widget, forms.Textarea)


# Models -----------------------------------------------------------------------------------


def control_checks(field: models.Field) -> list[NoControlCharacters]:
    return [v for v in field.validators if isinstance(v, NoControlCharacters)]


def text_fields() -> Iterator[tuple[str, models.Field]]:
    for model in project_models():
        if is_historical(model):
            continue
        for field in model._meta.get_fields():
            if not isinstance(field, models.CharField | models.TextField) or field.choices:
                continue
            name = f"{model._meta.label}.{field.name}"
            if name not in NOT_FREE_TEXT:
                yield name, field


def test_every_text_field_of_every_model_refuses_control_characters() -> None:
    missing = sorted(name for name, field in text_fields() if not control_checks(field))
    assert not missing, (
        "Add refuse_control_characters (one line) or refuse_control_characters_in_text "
        "(a TextField) to these fields, or name them in test_card_numbers.NOT_FREE_TEXT "
        f"with the reason they are not free text: {missing}"
    )


def test_a_text_field_keeps_new_lines_and_a_one_line_field_does_not() -> None:
    wrong = []
    for name, field in text_fields():
        for check in control_checks(field):
            if check.multiline != isinstance(field, models.TextField):
                wrong.append(name)
    assert not wrong, wrong


# Forms ------------------------------------------------------------------------------------


def refused_by_the_field_itself(field: forms.Field, value: str) -> bool:
    """The field's own checks (a phone number's format, Django's NUL check) refuse the
    value before any validator of ours: then "refused at the field" is what counts."""
    try:
        field.clean(value)
    except forms.ValidationError as error:
        return bool({e.code for e in error.error_list} - {"control_characters", "card_number"})
    return False


@pytest.mark.parametrize("value", CONTROLLED)
@pytest.mark.parametrize("case", FORM_CASES, ids=lambda case: case.id)
def test_every_free_text_field_of_every_form_refuses_control_characters(
    world: World, monkeypatch: pytest.MonkeyPatch, case: FormCase, value: str
) -> None:
    form_class, arguments = case.build(Setting(world, monkeypatch))
    blank = form_class(**arguments)
    missed = []
    for name, field in blank.fields.items():
        if not is_free_text(form_class, field, name):
            continue
        form = form_class(data={blank.add_prefix(name): value}, files={}, **arguments)
        if refused_by_the_field_itself(field, value):
            refused = name in form.errors
        else:
            refused = form.has_error(name, code="control_characters")
        if not refused:
            missed.append(name)
    assert not missed, f"{case.id} accepts {value!r} in {missed}"


@pytest.mark.parametrize("case", FORM_CASES, ids=lambda case: case.id)
def test_multi_line_fields_keep_tabs_and_new_lines(
    world: World, monkeypatch: pytest.MonkeyPatch, case: FormCase
) -> None:
    form_class, arguments = case.build(Setting(world, monkeypatch))
    blank = form_class(**arguments)
    text = "Screen dark since 9:00.\r\nTried:\n\t- restart\n\t- another cable"
    refused = []
    for name, field in blank.fields.items():
        if not is_free_text(form_class, field, name) or not is_multiline(field):
            continue
        form = form_class(data={blank.add_prefix(name): text}, files={}, **arguments)
        if form.has_error(name, code="control_characters"):
            refused.append(name)
    assert not refused, f"{case.id} refuses a new line or a tab in {refused}"


# Dates ------------------------------------------------------------------------------------

DATE_FIELDS = (forms.DateField, forms.DateTimeField, forms.SplitDateTimeField)

# Date fields a person may type in that need no range, each with why.
DATES_WITHOUT_A_RANGE = {
    # Django's own account times in the user admin: set by log-in and sign-up, never
    # used in date arithmetic.
    "admin:portal.User:change.last_login",
    "admin:portal.User:change.date_joined",
}

ABSURD_DATES = [
    pytest.param(date(1, 1, 1), id="0001-01-01"),
    pytest.param(date(1989, 12, 31), id="1989-12-31"),
    pytest.param(date(9999, 12, 31), id="9999-12-31"),
]


def date_data(prefixed: str, field: forms.Field, day: date) -> dict[str, str]:
    if isinstance(field, forms.SplitDateTimeField):
        return {f"{prefixed}_0": day.isoformat(), f"{prefixed}_1": "12:00"}
    if isinstance(field, forms.DateTimeField):
        return {prefixed: f"{day.isoformat()}T12:00"}
    return {prefixed: day.isoformat()}


@pytest.mark.parametrize("day", ABSURD_DATES)
@pytest.mark.parametrize("case", FORM_CASES, ids=lambda case: case.id)
def test_every_date_a_person_types_is_in_a_sensible_range(
    world: World, monkeypatch: pytest.MonkeyPatch, case: FormCase, day: date
) -> None:
    form_class, arguments = case.build(Setting(world, monkeypatch))
    blank = form_class(**arguments)
    accepted = []
    for name, field in blank.fields.items():
        if not isinstance(field, DATE_FIELDS) or f"{case.id}.{name}" in DATES_WITHOUT_A_RANGE:
            continue
        form = form_class(data=date_data(blank.add_prefix(name), field, day), files={}, **arguments)
        if name not in form.errors:
            accepted.append(name)
    assert not accepted, f"{case.id} accepts {day} in {accepted}"


def test_the_date_allow_list_names_fields_that_exist(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = set()
    for case in FORM_CASES:
        try:
            form_class, arguments = case.build(Setting(world, monkeypatch))
        except pytest.skip.Exception:
            continue
        found |= {f"{case.id}.{name}" for name in form_class(**arguments).fields}
    assert found >= DATES_WITHOUT_A_RANGE, sorted(DATES_WITHOUT_A_RANGE - found)


def test_a_warranty_may_end_twenty_years_from_now_but_not_later(as_user, world: World) -> None:  # noqa: ANN001
    from devices.forms import WarrantySetForm

    latest = latest_warranty_end()
    assert WarrantySetForm(data={"warranty_end": latest.isoformat()}).is_valid()
    later = WarrantySetForm(data={"warranty_end": (latest + timedelta(days=1)).isoformat()})
    assert later.has_error("warranty_end", code="too_late")


def test_a_purchase_date_of_1990_is_accepted(as_user, world: World) -> None:  # noqa: ANN001
    from devices.forms import ProofForm

    form = ProofForm(data={"purchase_date": "1990-01-01"})
    assert not form.has_error("purchase_date")


# Serials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "serial",
    [
        pytest.param("SN\U0001f600123", id="emoji"),
        pytest.param("\u202eSN123", id="right-to-left-override"),
        pytest.param("SN\u200f123", id="right-to-left-mark"),
        pytest.param("SN\u200b123", id="zero-width-space"),
        pytest.param("SN\u20661\u2069", id="isolate"),
        pytest.param("SN1\u0301", id="combining-accent"),
        pytest.param("收银机123", id="han"),
        pytest.param("--", id="separators-only"),
        pytest.param("SN<b>1", id="markup"),
    ],
)
def test_a_serial_that_is_not_printable_is_refused_at_the_field(
    world: World,
    as_user,  # noqa: ANN001
    serial: str,
) -> None:
    device = world.device_a
    response = as_user(world.alice).post(
        reverse("devices:new"),
        {
            "model": device.model.pk,
            "serial_number": serial,
            "provider": world.provider_x.pk,
            "status": Device.Status.ACTIVE,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("serial_number", code="serial")
    assert "as printed on the label" in response.text
    assert not Device.objects.filter(merchant=world.merchant_a).exclude(pk=device.pk).exists()


@pytest.mark.parametrize("serial", ["SN123", "sn-0012/34.5_6", "PAX A920 0001", "ＳＮ１２３"])
def test_a_printable_serial_is_accepted(serial: str) -> None:
    validate_serial(serial)


# End to end: no 500, a message instead ------------------------------------------------------


def test_a_nul_in_the_terminal_search_answers_with_a_message(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(reverse("devices:list"), {"q": "SN\x00"})
    assert response.status_code == 200
    assert response.context["search"].has_error("q")
    assert world.device_a.serial_number in response.text  # the list, unfiltered


def test_a_control_character_in_the_terminal_search_is_explained(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(reverse("devices:list"), {"q": "SN\x1b"})
    assert response.status_code == 200
    assert MESSAGE in response.text


def test_a_nul_in_the_technicians_queue_search_answers_with_a_message(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    queue = Queue.objects.filter(provider=world.provider_x).first()
    response = as_user(world.xavier).get(
        reverse("tickets:queue", args=[queue.pk]), {"q": "PD-\x1b00"}
    )
    assert response.status_code == 200
    assert MESSAGE in response.text


def test_a_nul_in_the_merchants_terminal_filter_answers_with_a_message(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    for _n in range(31):  # enough terminals for a search box instead of a select
        DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
    response = as_user(world.alice).get(reverse("tickets:list"), {"terminal": "SN\x00"})
    assert response.status_code == 200
    assert response.context["filters"].has_error("terminal")


CSV_HEADER = "brand,model,serial,purchase date,provider,acquirer,location\n"


@pytest.mark.parametrize("column", ["brand", "model", "serial", "provider", "location"])
@pytest.mark.parametrize("character", ["\x00", "\x1b"])
def test_a_control_character_in_a_csv_cell_is_refused_in_its_row(
    world: World,
    as_user,  # noqa: ANN001
    column: str,
    character: str,
) -> None:
    device = world.device_a
    values = {
        "brand": device.model.brand.name,
        "model": device.model.name,
        "serial": "SN-IMPORT-1",
        "provider": world.provider_x.name,
        "location": "Till 4",
    }
    values[column] = values[column][:2] + character + values[column][2:]
    text = CSV_HEADER + (
        f"{values['brand']},{values['model']},{values['serial']},2026-01-05,"
        f"{values['provider']},,{values['location']}\n"
    )
    upload = SimpleUploadedFile("terminals.csv", text.encode(), content_type="text/csv")
    response = as_user(world.alice).post(reverse("devices:import"), {"file": upload})
    assert response.status_code == 200
    (row,) = response.context["preview"].rows
    assert f"{column}: {MESSAGE}" in row.errors
    assert MESSAGE in response.text
    assert character not in response.text
    assert not importer.import_terminals(text, merchant=world.merchant_a).imported


def test_a_nul_in_a_warranty_register_cell_is_refused_in_its_row(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    brand = world.device_a.model.brand.name
    text = f"brand,serial,warranty end\n{brand}\x00,SN-1,2027-01-01\n"
    upload = SimpleUploadedFile("register.csv", text.encode(), content_type="text/csv")
    response = as_user(world.xavier).post(reverse("terminals:register"), {"file": upload})
    assert response.status_code == 200
    assert MESSAGE in response.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1970-01-01", "from 1990-01-01 on"),
        ("0001-01-01", "from 1990-01-01 on"),
        ("9999-12-31", "in the future"),
    ],
)
def test_an_absurd_purchase_date_in_the_csv_is_refused(
    world: World, value: str, message: str
) -> None:
    device = world.device_a
    text = CSV_HEADER + (
        f"{device.model.brand.name},{device.model.name},SN-DATE-1,{value},"
        f"{world.provider_x.name},,\n"
    )
    (row,) = importer.check_csv(text).rows
    assert any(message in error for error in row.errors), row.errors


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "1989-06-01T10:00"])
def test_an_absurd_payment_time_is_refused_when_filing(
    world: World,
    as_user,  # noqa: ANN001
    value: str,
) -> None:
    data = filing_data(world.device_a, category="transaction", txn_time=value)
    response = as_user(world.alice).post(reverse("tickets:new"), data)
    assert response.status_code == 200
    assert response.context["form"].has_error("txn_time")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_an_absurd_purchase_date_is_refused_when_registering(
    world: World,
    as_user,  # noqa: ANN001
    value: str,
) -> None:
    device = world.device_a
    response = as_user(world.alice).post(
        reverse("devices:new"),
        {
            "model": device.model.pk,
            "serial_number": "SN-NEW-1",
            "purchase_date": value,
            "provider": world.provider_x.pk,
            "status": Device.Status.ACTIVE,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].has_error("purchase_date")
    assert not Device.objects.filter(serial_number="SN-NEW-1").exists()
