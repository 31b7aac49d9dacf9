"""The shared test world: merchants A and B, technicians of providers X and Y, an admin.

Provider X services (and, as a bank, acquires) merchant A's terminal; provider Y
services merchant B's. Every view test has an outsider from the other side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

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
    return make_world()


def make_world() -> World:
    """The world's rows, made in the database (the `world` fixture; the language tests
    make it once for a module, tests/i18n/conftest.py)."""
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


# --- Data-migration rows survive transactional tests -----------------------------------
# A transactional test (live_server, transaction=True) ends with a flush that deletes every
# row, including those the data migrations created (default routing rules, the platform
# triage queue, self-help checks). Tests after it in the run, and every test of the next
# `--reuse-db` run, would then miss them. Re-create them, idempotently, at session start
# and before each transactional test. Add each new data migration's function here.
DATA_MIGRATIONS = [
    "tickets.migrations.0002_default_rules",
    "tickets.migrations.0010_bilingual_symptom_checks",
    "tickets.migrations.0011_advice_while_waiting",
]


def seed_migration_data() -> None:
    import importlib

    from django.apps import apps

    for module in DATA_MIGRATIONS:
        importlib.import_module(module).forwards(apps, None)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: ANN001, ANN201
    with django_db_blocker.unblock():
        seed_migration_data()


@pytest.fixture(autouse=True)
def _migration_data_after_flush(request) -> None:  # noqa: ANN001
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        seed_migration_data()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language: a request with Accept-Language: zh-hans
    leaves Chinese active in the thread, and the next test would read Chinese texts."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with no rate-limit or log-in counts left by the one before."""
    from django.core.cache import cache

    cache.clear()
