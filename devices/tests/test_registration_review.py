"""Issue 11: a serial another shop registered is held for an admin, never revealed.

The merchant who types it is told that the terminal needs a check before it is listed,
exactly what they typed waits for an admin (RegistrationReview), and the database still
holds one terminal per serial of a brand. The shop's own duplicate is still named.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.urls import reverse

from conftest import World
from devices import importer, services
from devices.models import Device, RegistrationReview
from devices.tests.helpers import device_post
from tests.factories import DeviceFactory

URL = reverse("devices:new")
HELD = "needs a check by the PosDesk team"


def register(world: World, as_user, **fields: object):  # noqa: ANN001, ANN201
    data = device_post(
        world,
        model=world.device_b.model.pk,
        serial_number=f" {world.device_b.serial_number.lower()} ",
        **fields,
    )
    return as_user(world.alice).post(URL, data, follow=True)


def test_another_shops_serial_is_held_with_what_was_typed(world: World, as_user) -> None:  # noqa: ANN001
    response = register(world, as_user, location="Till 9", purchase_date="2026-01-05")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("devices:list")
    assert HELD in response.text
    review = RegistrationReview.objects.get()
    assert review.merchant == world.merchant_a
    assert review.submitted_by == world.alice
    assert review.serial_number == world.device_b.serial_number
    assert review.brand == world.device_b.brand
    assert review.location == "Till 9"
    assert str(review.purchase_date) == "2026-01-05"
    assert review.status == RegistrationReview.Status.PENDING
    # The other shop's terminal is untouched, and alice has no terminal of that serial.
    assert Device.objects.filter(serial_number=world.device_b.serial_number).get().merchant == (
        world.merchant_b
    )


def test_the_answer_never_says_the_serial_exists_elsewhere(world: World, as_user) -> None:  # noqa: ANN001
    response = register(world, as_user)
    for leak in ("already registered", "another shop", "another merchant", "Shop B"):
        assert leak not in response.text


def test_the_waiting_registration_is_listed_for_the_shop_only(world: World, as_user) -> None:  # noqa: ANN001
    register(world, as_user)
    page = as_user(world.alice).get(reverse("devices:list"))
    assert "Waiting for a check" in page.text
    assert world.device_b.serial_number in page.text
    other = as_user(world.bob).get(reverse("devices:list"))
    assert "Waiting for a check" not in other.text


def test_sending_it_again_waits_once(world: World, as_user) -> None:  # noqa: ANN001
    register(world, as_user)
    response = register(world, as_user)
    assert "already waiting for a check" in response.text
    assert RegistrationReview.objects.count() == 1


def test_the_shops_own_duplicate_is_still_named(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).post(
        URL, device_post(world, serial_number=world.device_a.serial_number)
    )
    assert response.status_code == 200
    assert "already registered" in response.context["form"].errors["serial_number"][0]
    assert not RegistrationReview.objects.exists()


def test_editing_a_terminal_to_another_shops_serial_is_refused_neutrally(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    mine = DeviceFactory(merchant=world.merchant_a, model=world.device_b.model)
    response = as_user(world.alice).post(
        reverse("devices:edit", args=[mine.pk]),
        device_post(
            world, model=world.device_b.model.pk, serial_number=world.device_b.serial_number
        ),
    )
    assert response.status_code == 200
    error = response.context["form"].errors["serial_number"][0]
    assert "contact PosDesk support" in error
    assert "already registered" not in response.text


def test_a_race_with_another_shop_is_held_too(
    world: World,
    as_user,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The form's check saw a free serial; another shop's insert won the race.
    monkeypatch.setattr("devices.forms.serial_owner", lambda **kwargs: None)
    response = register(world, as_user)
    assert HELD in response.text
    assert RegistrationReview.objects.count() == 1


def test_the_database_still_holds_one_terminal_per_serial(world: World) -> None:
    with pytest.raises(IntegrityError):
        Device.objects.create(
            merchant=world.merchant_a,
            provider=world.provider_x,
            model=world.device_b.model,
            serial_number=world.device_b.serial_number,
        )


def test_the_service_answers_a_second_hold_from_the_first(world: World) -> None:
    hold = {
        "merchant": world.merchant_a,
        "user": world.alice,
        "device_model": world.device_b.model,
        "serial_number": world.device_b.serial_number,
        "provider": world.provider_x,
    }
    first, created = services.hold_for_review(**hold)
    assert created
    second, created = services.hold_for_review(**hold)
    assert (second, created) == (first, False)


# The CSV import ----------------------------------------------------------------------------


def csv_for(world: World, *serials: str) -> str:
    model = world.device_b.model
    return "brand,model,serial,purchase date,provider,acquirer,location\n" + "".join(
        f"{model.brand.name},{model.name},{serial},,{world.provider_x.name},,\n"
        for serial in serials
    )


def test_an_imported_row_with_another_shops_serial_is_held(world: World) -> None:
    text = csv_for(world, "IMP-NEW-1", world.device_b.serial_number)
    preview = importer.check_csv(text, merchant=world.merchant_a)
    assert preview.is_valid
    assert [row.held for row in preview.rows] == [False, True]
    assert not any("already registered" in e for row in preview.rows for e in row.errors)

    result = importer.import_terminals(text, merchant=world.merchant_a, user=world.alice)
    assert [d.serial_number for d in result.devices] == ["IMP-NEW-1"]
    assert [r.serial_number for r in result.held] == [world.device_b.serial_number]
    assert result.held[0].submitted_by == world.alice


def test_an_imported_row_with_the_shops_own_serial_is_an_error(world: World) -> None:
    text = csv_for(world, world.device_a.serial_number)
    model = world.device_a.model
    text = text.replace(world.device_b.model.name, model.name).replace(
        world.device_b.model.brand.name, model.brand.name
    )
    preview = importer.check_csv(text, merchant=world.merchant_a)
    assert not preview.is_valid
    assert "already registered" in " ".join(preview.rows[0].errors)


def test_the_import_preview_says_a_row_needs_a_check(world: World, as_user) -> None:  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = csv_for(world, world.device_b.serial_number)
    response = as_user(world.alice).post(
        reverse("devices:import"), {"file": SimpleUploadedFile("t.csv", text.encode())}
    )
    assert response.status_code == 200
    assert "Needs a check" in response.text
    assert "already registered" not in response.text


# The admin -----------------------------------------------------------------------------------


def test_the_admin_sees_who_has_the_terminal_and_records_the_outcome(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    review, _created = services.hold_for_review(
        merchant=world.merchant_a,
        user=world.alice,
        device_model=world.device_b.model,
        serial_number=world.device_b.serial_number,
        provider=world.provider_x,
    )
    admin = as_user(world.admin)
    url = reverse("admin:devices_registrationreview_change", args=[review.pk])
    page = admin.get(url)
    assert page.status_code == 200
    assert "Shop B" in page.text  # the admin may know
    response = admin.post(
        url, {"status": RegistrationReview.Status.REFUSED, "note": "Shop B has it on site."}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == RegistrationReview.Status.REFUSED
    assert review.decided_by == world.admin
    assert review.decided_at is not None


def test_a_merchant_has_no_admin(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(reverse("admin:devices_registrationreview_changelist"))
    assert response.status_code == 302
