from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from devices.warranty import WarrantyStatus
from portal.models import User

MODELS = [Provider, Merchant, Brand, DeviceModel, Device, Membership, User]


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


@pytest.fixture
def debug_on(settings) -> None:  # noqa: ANN001
    settings.DEBUG = True


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_running_it_twice_creates_nothing_new(db, debug_on) -> None:  # noqa: ANN001
    seed()
    first = counts()
    seed()
    assert counts() == first


def test_it_seeds_what_the_demo_needs(db, debug_on) -> None:  # noqa: ANN001
    output = seed()
    assert Provider.objects.count() >= 3
    kinds = set(Provider.objects.values_list("kind", flat=True))
    assert {"bank", "payment_institution", "third_party"} <= kinds
    assert Merchant.objects.count() == 2
    assert Device.objects.count() >= 12
    statuses = {d.warranty_status() for d in Device.objects.all()}
    assert statuses == {WarrantyStatus.IN, WarrantyStatus.OUT, WarrantyStatus.UNKNOWN}
    assert Device.objects.filter(warranty_void=True).exclude(warranty_void_reason="").exists()
    assert not Device.objects.filter(acquirer__isnull=True).exists()
    for username in ("admin", "merchant1", "merchant2", "tech1", "tech2"):
        assert User.objects.get(username=username).check_password("posdesk-demo")
        assert username in output
    assert User.objects.get(username="admin").is_superuser


def test_the_demo_users_have_their_roles(db, debug_on) -> None:  # noqa: ANN001
    seed()
    merchant1 = User.objects.get(username="merchant1")
    tech1 = User.objects.get(username="tech1")
    assert merchant1.role == User.Role.MERCHANT
    assert User.objects.get(username="merchant2").merchant != merchant1.merchant
    assert tech1.role == User.Role.TECHNICIAN
    assert User.objects.get(username="tech2").provider != tech1.provider
    # tech1's provider services most of merchant1's terminals, so their faults reach tech1.
    mine = Device.objects.filter(merchant=merchant1.merchant)
    assert mine.filter(provider=tech1.provider).count() > mine.count() / 2


def test_it_refuses_to_run_when_debug_is_off(db, settings) -> None:  # noqa: ANN001
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.filter(username="merchant1").exists()


def test_force_runs_it_even_when_debug_is_off(db, settings) -> None:  # noqa: ANN001
    settings.DEBUG = False
    call_command("seed_demo", "--force", stdout=StringIO())
    assert User.objects.filter(username="merchant1").exists()


def test_it_calls_the_tickets_demo_hook_when_there_is_one(db, debug_on, monkeypatch) -> None:  # noqa: ANN001
    import sys
    import types

    called = []
    fake = types.ModuleType("tickets.demo")
    fake.seed_demo_tickets = lambda stdout: called.append(stdout)
    monkeypatch.setitem(sys.modules, "tickets.demo", fake)
    seed()
    assert len(called) == 1
