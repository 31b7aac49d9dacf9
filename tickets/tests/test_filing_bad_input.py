"""/tickets/new/ refuses bad input at the field and keeps everything typed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from tickets.models import Category, SelfHelpSuccess, Ticket
from tickets.pci import contains_card_number
from tickets.tests.filing_helpers import CARD, EXE, PNG, exe, filing_data, png, text

pytestmark = pytest.mark.django_db
URL = reverse("tickets:new")
PCI_MESSAGE = "Never enter a full card number: PCI DSS forbids storing it."


def _errors(response, field: str) -> list[str]:  # noqa: ANN001
    return [str(error) for error in response.context["form"].errors.get(field, [])]


def _refused(response) -> None:  # noqa: ANN001
    assert response.status_code == 200
    assert Ticket.objects.count() == 0


def test_a_full_card_number_in_the_description_is_refused(world, as_user) -> None:
    description = f"Customer card {CARD} was charged twice"
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, description=description, error_code="E05")
    )
    _refused(response)
    assert any(PCI_MESSAGE in error for error in _errors(response, "description"))
    # Everything typed is kept: the description as typed, the other fields too.
    assert "charged twice" in response.text
    assert 'value="E05"' in response.text


@pytest.mark.parametrize("field", ["error_code", "txn_reference"])
def test_a_card_number_in_any_free_text_field_is_refused(world, as_user, field: str) -> None:
    value = "4111111111111111"
    data = filing_data(world.device_a, Category.TRANSACTION, **{field: value})
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    assert any(PCI_MESSAGE in error for error in _errors(response, field))


def test_the_last_four_digits_must_be_four_digits(world, as_user) -> None:
    data = filing_data(world.device_a, Category.TRANSACTION, card_last4="4111111111111111")
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    assert _errors(response, "card_last4")


@pytest.mark.parametrize(
    ("text_value", "found"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("card 4111111111111111 declined", True),
        ("4111 1111 1111 1111 2025", True),  # a card number followed by a year
        ("5500 0000 0000 0004", True),
        ("378282246310005", True),  # 15-digit Amex test number
        ("4111 1111 1111 1112", False),  # fails the Luhn check
        ("trace 12345678901234567890123", False),  # a long reference, not a card
        ("error 11 at 2026-01-05 10:15, amount 88.50", False),
        ("", False),
    ],
)
def test_card_number_detection(text_value: str, found: bool) -> None:
    assert contains_card_number(text_value) is found


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_an_oversize_attachment_is_refused_and_the_text_kept(world, as_user) -> None:
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * 2048, content_type="image/png")
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, description="Dark screen since Monday", attachments=[big])
    )
    _refused(response)
    assert any("larger than" in error for error in _errors(response, "attachments"))
    assert "Dark screen since Monday" in response.text
    assert "choose the attachments again" in response.text


def test_the_upload_limit_is_ten_megabytes_by_default(settings) -> None:  # noqa: ANN001
    assert settings.UPLOAD_MAX_BYTES == 10 * 1024 * 1024


def test_an_exe_attachment_is_refused_and_the_text_kept(world, as_user) -> None:
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, description="Printer jams", attachments=[exe()])
    )
    _refused(response)
    assert any("cannot be attached" in error for error in _errors(response, "attachments"))
    assert "Printer jams" in response.text


def test_a_program_disguised_as_a_photo_is_refused(world, as_user) -> None:
    disguised = SimpleUploadedFile("photo.jpg", EXE, content_type="image/jpeg")
    response = as_user(world.alice).post(URL, filing_data(world.device_a, attachments=[disguised]))
    _refused(response)
    assert _errors(response, "attachments")


def test_a_photo_named_as_a_pdf_is_refused(world, as_user) -> None:
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, attachments=[png("receipt.pdf")])
    )
    _refused(response)
    assert any("does not hold what its name says" in e for e in _errors(response, "attachments"))


def test_a_text_file_must_be_utf8(world, as_user) -> None:
    binary = text("notes.txt", b"\xff\xfe\x00\x01binary")
    response = as_user(world.alice).post(URL, filing_data(world.device_a, attachments=[binary]))
    _refused(response)
    assert any("not plain text" in error for error in _errors(response, "attachments"))


def test_at_most_five_attachments(world, as_user) -> None:
    files = [png(f"p{n}.png") for n in range(6)]
    response = as_user(world.alice).post(URL, filing_data(world.device_a, attachments=files))
    _refused(response)
    assert any("at most 5" in error for error in _errors(response, "attachments"))


def test_a_crafted_post_with_another_merchants_device_is_refused(world, as_user) -> None:
    data = filing_data(world.device_a, description="Keep me")
    data["device"] = world.device_b.pk
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    assert _errors(response, "device") == ["Choose one of your own terminals."]
    assert "Keep me" in response.text
    assert world.device_b.serial_number not in response.text


def test_that_fixed_it_with_another_merchants_device_is_refused(world, as_user) -> None:
    data = filing_data(world.device_a, action="fixed")
    data["device"] = world.device_b.pk
    response = as_user(world.alice).post(URL, data)
    assert response.status_code == 200
    assert _errors(response, "device")
    assert SelfHelpSuccess.objects.count() == 0


def test_a_symptom_from_another_category_is_refused(world, as_user) -> None:
    response = as_user(world.alice).post(URL, filing_data(world.device_a, symptom="wifi"))
    _refused(response)
    assert _errors(response, "symptom")


def test_a_crafted_category_sends_back_to_the_first_step(world, as_user) -> None:
    data = filing_data(world.device_a)
    data["category"] = "coffee"
    response = as_user(world.alice).post(URL, data)
    assert response.status_code == 302
    assert response.url == URL
    assert Ticket.objects.count() == 0


def test_required_fields_are_named(world, as_user) -> None:
    data = filing_data(world.device_a, description="", callback_phone="", symptom="")
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    for field in ("description", "callback_phone", "symptom"):
        assert _errors(response, field)


def test_a_phone_number_must_look_like_one(world, as_user) -> None:
    response = as_user(world.alice).post(
        URL, filing_data(world.device_a, callback_phone="call me maybe")
    )
    _refused(response)
    assert _errors(response, "callback_phone")


def test_the_checks_ticked_are_kept_on_error(world, as_user) -> None:
    data = filing_data(world.device_a, description="", checks_tried=["paper"])
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    assert 'value="paper" id="check-paper" checked' in response.text


def test_a_payment_time_in_the_future_is_refused(world, as_user) -> None:
    data = filing_data(world.device_a, Category.TRANSACTION, txn_time="2999-01-01T10:00")
    response = as_user(world.alice).post(URL, data)
    _refused(response)
    assert _errors(response, "txn_time")
