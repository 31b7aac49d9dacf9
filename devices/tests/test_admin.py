"""The admin change lists load with data and the device form keeps the database's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices.models import Device
from tests.factories import DeviceFactory


@pytest.mark.parametrize(
    "name",
    ["provider", "merchant", "membership", "brand", "devicemodel", "device"],
)
def test_each_change_list_loads_with_data(world: World, as_user, name: str) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(reverse(f"admin:devices_{name}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "name",
    ["provider", "merchant", "membership", "brand", "devicemodel", "device"],
)
def test_each_change_form_loads(world: World, as_user, name: str) -> None:  # noqa: ANN001
    obj = {
        "provider": world.provider_x,
        "merchant": world.merchant_a,
        "membership": world.alice.membership,
        "brand": world.device_a.model.brand,
        "devicemodel": world.device_a.model,
        "device": world.device_a,
    }[name]
    response = as_user(world.admin).get(reverse(f"admin:devices_{name}_change", args=[obj.pk]))
    assert response.status_code == 200


def test_the_user_change_list_shows_memberships(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(reverse("admin:portal_user_changelist"))
    assert response.status_code == 200
    assert "Shop A" in response.text


def test_the_device_list_shows_warranty_status(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(reverse("admin:devices_device_changelist"))
    assert "In warranty" in response.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("in", "device_a"), ("out", "expired"), ("unknown", "unknown")],
)
def test_the_warranty_filter(world: World, as_user, value: str, expected: str) -> None:  # noqa: ANN001
    devices = {
        "device_a": world.device_a,
        "expired": DeviceFactory(warranty_end=timezone.localdate() - timedelta(days=1)),
        "unknown": DeviceFactory(purchase_date=None, warranty_end=None),
        "void": DeviceFactory(warranty_void=True, warranty_void_reason="Dropped"),
    }
    response = as_user(world.admin).get(
        reverse("admin:devices_device_changelist"), {"warranty": value}
    )
    shown = set(response.context["cl"].result_list)
    assert devices[expected] in shown
    if value == "out":
        assert devices["void"] in shown
    others = {k for k in devices if k != expected and not (value == "out" and k == "void")}
    assert not shown & {devices[k] for k in others}


def test_a_duplicate_serial_in_the_admin_is_a_field_error(world: World, as_user) -> None:  # noqa: ANN001
    url = reverse("admin:devices_device_add")
    response = as_user(world.admin).post(
        url,
        {
            "merchant": world.merchant_b.pk,
            "model": world.device_a.model.pk,
            "serial_number": world.device_a.serial_number.lower(),
            "status": "active",
            "provider": world.provider_y.pk,
        },
    )
    assert response.status_code == 200
    assert "already registered" in str(response.context["adminform"].form.errors["serial_number"])
    assert Device.objects.count() == 2


def test_technicians_cannot_open_the_admin(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.xavier).get(reverse("admin:devices_device_changelist"))
    assert response.status_code == 302


def test_the_admins_proof_link_downloads_the_file(world, as_user, settings, tmp_path) -> None:  # noqa: ANN001
    from devices.tests.helpers import pdf

    settings.MEDIA_ROOT = tmp_path
    world.device_a.proof_of_purchase.save("receipt.pdf", pdf(), save=True)
    client = as_user(world.admin)
    page = client.get(reverse("admin:devices_device_change", args=[world.device_a.pk])).text
    link = reverse("admin:devices_device_proof", args=[world.device_a.pk])
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_proof_download_is_for_staff_only(world, as_user) -> None:  # noqa: ANN001
    link = reverse("admin:devices_device_proof", args=[world.device_a.pk])
    response = as_user(world.alice).get(link)
    assert response.status_code == 302  # to the admin's log-in, never the file


def test_an_admins_warranty_change_is_verified_by_the_admin(world, as_user) -> None:  # noqa: ANN001
    from devices.warranty import WarrantyCheck, WarrantySource

    device = world.device_a
    device.warranty_check = WarrantyCheck.CLAIMED
    device.save()
    client = as_user(world.admin)
    url = reverse("admin:devices_device_change", args=[device.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "proof_of_purchase"}
    data["warranty_end"] = "2031-01-31"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].errors
    device.refresh_from_db()
    assert str(device.warranty_end) == "2031-01-31"
    assert device.warranty_check == WarrantyCheck.VERIFIED
    assert device.warranty_source == WarrantySource.ADMIN
    assert device.warranty_checked_by == world.admin
    assert device.history.latest().history_user == world.admin
