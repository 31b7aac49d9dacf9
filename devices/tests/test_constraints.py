"""The registry's invariants hold in the database itself, not only in the forms."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from conftest import World
from devices.models import Device, Membership
from tests.factories import DeviceFactory, DeviceModelFactory, UserFactory


def test_a_serial_is_unique_per_brand(world: World) -> None:
    same_brand = DeviceModelFactory(brand=world.device_a.model.brand)
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.create(
            merchant=world.merchant_b,
            provider=world.provider_y,
            model=same_brand,
            serial_number=world.device_a.serial_number,
        )


def test_the_same_serial_is_allowed_for_another_brand(world: World) -> None:
    device = DeviceFactory(serial_number=world.device_a.serial_number)
    assert device.pk is not None


def test_the_serial_is_compared_after_normalising(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(
            model=world.device_a.model, serial_number=f"  {world.device_a.serial_number.lower()} "
        )


def test_a_void_warranty_needs_a_reason(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Device.objects.filter(pk=world.device_a.pk).update(
            warranty_void=True, warranty_void_reason=""
        )


def test_the_warranty_cannot_end_before_the_purchase(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(purchase_date=date(2026, 5, 1), warranty_end=date(2026, 4, 30))


def test_a_membership_names_a_merchant_or_a_provider_not_both(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(
            user=UserFactory(), merchant=world.merchant_a, provider=world.provider_x
        )


def test_a_membership_names_at_least_one(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=UserFactory())


def test_a_user_has_one_membership_at_most(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=world.alice, merchant=world.merchant_b)


def test_an_empty_warranty_end_defaults_to_the_models_months(world: World) -> None:
    device = DeviceFactory(
        model=DeviceModelFactory(default_warranty_months=24),
        purchase_date=date(2025, 3, 14),
        warranty_end=None,
    )
    assert device.warranty_end == date(2027, 3, 14)


def test_without_a_purchase_date_the_warranty_stays_unknown(world: World) -> None:
    device = DeviceFactory(purchase_date=None, warranty_end=None)
    assert device.warranty_end is None
    assert device.warranty_status() == "unknown"
