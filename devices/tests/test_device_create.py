from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices.models import Device, Provider
from devices.tests.helpers import device_post, pdf
from devices.warranty import WarrantyCheck
from tests.factories import DeviceModelFactory, ProviderFactory

URL = reverse("devices:new")


def test_it_shows_the_form(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(URL)
    assert response.status_code == 200
    # Models are grouped by brand.
    assert f'<optgroup label="{world.device_a.model.brand.name}">' in response.text


def test_it_registers_a_terminal_for_the_users_merchant(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).post(URL, device_post(world, serial_number="  ab-123 "))
    device = Device.objects.get(serial_number="AB-123")
    assert response.status_code == 302
    assert response.url == device.get_absolute_url()
    assert device.merchant == world.merchant_a
    assert device.brand == world.device_a.model.brand


def test_an_empty_warranty_end_takes_the_models_months(world: World, as_user) -> None:  # noqa: ANN001
    model = DeviceModelFactory(default_warranty_months=24)
    as_user(world.alice).post(
        URL, device_post(world, model=model.pk, purchase_date="2025-03-14", warranty_end="")
    )
    device = Device.objects.get(serial_number="NEW-0001")
    assert str(device.warranty_end) == "2027-03-14"


def test_a_duplicate_serial_is_reported_at_the_serial_field(world: World, as_user) -> None:  # noqa: ANN001
    typed = f" {world.device_a.serial_number.lower()} "
    response = as_user(world.alice).post(URL, device_post(world, serial_number=typed))
    assert response.status_code == 200
    form = response.context["form"]
    assert "already registered" in form.errors["serial_number"][0]
    assert list(form.errors) == ["serial_number"]
    # What was typed is kept.
    assert f'value="{typed}"' in response.text
    assert 'value="Till 1"' in response.text


def test_a_serial_another_merchant_registered_is_held_without_saying_so(
    world: World,
    as_user,  # noqa: ANN001
) -> None:
    # Issue 11: "already registered" told any shop which serials exist elsewhere.
    response = as_user(world.alice).post(
        URL,
        device_post(
            world, model=world.device_b.model.pk, serial_number=world.device_b.serial_number
        ),
        follow=True,
    )
    assert response.status_code == 200
    assert "already registered" not in response.text
    assert "needs a check by the PosDesk team" in response.text
    assert world.merchant_a.registration_reviews.filter(
        serial_number=world.device_b.serial_number
    ).exists()


def test_a_future_purchase_date_is_refused_at_the_field(world: World, as_user) -> None:  # noqa: ANN001
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = as_user(world.alice).post(URL, device_post(world, purchase_date=tomorrow))
    assert "future" in response.context["form"].errors["purchase_date"][0]
    assert not Device.objects.filter(serial_number="NEW-0001").exists()


def test_a_merchant_cannot_set_the_warranty_end(world: World, as_user) -> None:  # noqa: ANN001
    model = DeviceModelFactory(default_warranty_months=12)
    as_user(world.alice).post(
        URL,
        device_post(world, model=model.pk, purchase_date="2026-03-01", warranty_end="2029-12-31"),
    )
    device = Device.objects.get(serial_number="NEW-0001")
    assert str(device.warranty_end) == "2027-03-01"  # the model's months, not the POST's date


def test_a_merchant_cannot_void_or_clear_a_void(world: World, as_user) -> None:  # noqa: ANN001
    as_user(world.alice).post(
        URL, device_post(world, warranty_void="on", warranty_void_reason="Liquid damage")
    )
    device = Device.objects.get(serial_number="NEW-0001")
    assert device.warranty_void is False


def test_a_new_terminal_is_a_claim_for_the_provider_to_verify(world: World, as_user) -> None:  # noqa: ANN001
    as_user(world.alice).post(URL, device_post(world))
    device = Device.objects.get(serial_number="NEW-0001")
    assert device.warranty_check == WarrantyCheck.CLAIMED
    assert device.warranty_checked_by is None
    assert device.history.count() == 1
    assert device.history.get().history_user == world.alice


def test_the_provider_contract_months_win_over_the_models(world: World, as_user) -> None:  # noqa: ANN001
    world.provider_x.warranty_months = 36
    world.provider_x.save()
    as_user(world.alice).post(
        URL, device_post(world, provider=world.provider_x.pk, purchase_date="2025-03-14")
    )
    device = Device.objects.get(serial_number="NEW-0001")
    assert str(device.warranty_end) == "2028-03-14"


def test_the_acquirer_must_be_a_bank_or_payment_institution(world: World, as_user) -> None:  # noqa: ANN001
    third_party = ProviderFactory(kind=Provider.Kind.THIRD_PARTY)
    response = as_user(world.alice).post(URL, device_post(world, acquirer=third_party.pk))
    assert "acquirer" in response.context["form"].errors


def test_an_inactive_provider_cannot_be_chosen(world: World, as_user) -> None:  # noqa: ANN001
    gone = ProviderFactory(active=False)
    response = as_user(world.alice).post(URL, device_post(world, provider=gone.pk))
    assert "provider" in response.context["form"].errors


def test_it_stores_a_pdf_proof_under_a_random_name(
    world: World, as_user, settings, tmp_path
) -> None:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path
    as_user(world.alice).post(
        URL, {**device_post(world), "proof_of_purchase": pdf("My receipt.exe")}
    )
    device = Device.objects.get(serial_number="NEW-0001")
    name = device.proof_of_purchase.name
    assert name.startswith("proofs/")
    assert name.endswith(".pdf")
    assert "receipt" not in name


def test_it_refuses_a_proof_that_is_not_a_pdf_or_image(
    world: World, as_user, settings, tmp_path
) -> None:  # noqa: ANN001
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    fake = SimpleUploadedFile("receipt.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")
    response = as_user(world.alice).post(URL, {**device_post(world), "proof_of_purchase": fake})
    assert "proof_of_purchase" in response.context["form"].errors
    assert not Device.objects.filter(serial_number="NEW-0001").exists()


def test_it_refuses_a_proof_over_the_size_limit(world: World, as_user, settings, tmp_path) -> None:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_MAX_BYTES = 10
    response = as_user(world.alice).post(URL, {**device_post(world), "proof_of_purchase": pdf()})
    assert "too large" in response.context["form"].errors["proof_of_purchase"][0]


def test_it_is_404_for_a_technician(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(URL).status_code == 404
    assert as_user(world.xavier).post(URL, device_post(world)).status_code == 404
    assert not Device.objects.filter(serial_number="NEW-0001").exists()


def test_it_sends_anonymous_visitors_to_log_in(world: World, client) -> None:  # noqa: ANN001
    response = client.post(URL, device_post(world))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_duplicate_that_races_past_the_form_gets_the_field_message(
    world: World,
    as_user,  # noqa: ANN001
    monkeypatch,  # noqa: ANN001
) -> None:
    # Two saves at once: the form's check saw no duplicate, the database refuses the insert.
    monkeypatch.setattr("devices.forms.serial_owner", lambda **kwargs: None)
    response = as_user(world.alice).post(
        URL, device_post(world, serial_number=world.device_a.serial_number)
    )
    assert response.status_code == 200
    assert "already registered" in response.context["form"].errors["serial_number"][0]
