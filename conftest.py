"""The shared test world: merchants A and B, technicians of providers X and Y, an admin.

Provider X services (and, as a bank, acquires) merchant A's terminal; provider Y
services merchant B's. Every view test has an outsider from the other side.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from devices.models import Device, Merchant, Provider
from portal.models import User
from tests.factories import (
    DeviceFactory,
    MerchantFactory,
    ProviderFactory,
    UserFactory,
    member_of,
)


@dataclass
class World:
    provider_x: Provider
    provider_y: Provider
    merchant_a: Merchant
    merchant_b: Merchant
    alice: User  # merchant A
    bob: User  # merchant B
    xavier: User  # technician of X
    xena: User  # second technician of X
    yuri: User  # technician of Y
    admin: User
    device_a: Device
    device_b: Device


@pytest.fixture
def world(db) -> World:  # noqa: ANN001
    provider_x = ProviderFactory(name="Provider X", kind=Provider.Kind.BANK)
    provider_y = ProviderFactory(name="Provider Y", kind=Provider.Kind.PAYMENT_INSTITUTION)
    merchant_a = MerchantFactory(name="Shop A")
    merchant_b = MerchantFactory(name="Shop B")
    return World(
        provider_x=provider_x,
        provider_y=provider_y,
        merchant_a=merchant_a,
        merchant_b=merchant_b,
        alice=member_of(UserFactory(username="alice"), merchant=merchant_a),
        bob=member_of(UserFactory(username="bob"), merchant=merchant_b),
        xavier=member_of(UserFactory(username="xavier"), provider=provider_x),
        xena=member_of(UserFactory(username="xena"), provider=provider_x),
        yuri=member_of(UserFactory(username="yuri"), provider=provider_y),
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
        device_a=DeviceFactory(merchant=merchant_a, provider=provider_x, acquirer=provider_x),
        device_b=DeviceFactory(merchant=merchant_b, provider=provider_y, acquirer=provider_y),
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_user():  # noqa: ANN201
    """`as_user(world.alice)` gives a logged-in test client."""
    return client_for
