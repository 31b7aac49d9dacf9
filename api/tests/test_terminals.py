"""Terminals through the API: the web's registration form and save, so the warranty rules
hold: the merchant claims (purchase date), never sets the end or the void."""

from __future__ import annotations

from datetime import date, timedelta

from api.tests.conftest import key_client
from devices.models import Device, RegistrationReview
from devices.warranty import WarrantyCheck
from tests.factories import DeviceModelFactory
from tests.security.conftest import Scenario, fingerprint


def _body(scenario: Scenario, serial: str, **extra: object) -> dict[str, object]:
    world = scenario.world
    return {
        "model": world.device_a.model_id,
        "serial_number": serial,
        "purchase_date": (date.today() - timedelta(days=30)).isoformat(),
        "provider": world.provider_x.pk,
        "status": "active",
        "location": "Counter 2",
        **extra,
    }


def test_a_merchant_registers_a_terminal_as_a_claim(scenario: Scenario) -> None:
    api = key_client(scenario.world.alice)
    response = api.post("/api/v1/terminals/", _body(scenario, "NEW-0001"), format="json")
    assert response.status_code == 201, response.json()
    device = Device.objects.get(serial_number="NEW-0001")
    assert device.merchant == scenario.world.merchant_a
    assert device.warranty_check == WarrantyCheck.CLAIMED
    # The end follows from the purchase date and the model's months (12), not from the shop.
    assert device.warranty_end == device.default_warranty_end()
    assert response.json()["warranty_check"] == "claimed"


def test_the_merchant_cannot_set_the_warranty_end_or_void(scenario: Scenario) -> None:
    api = key_client(scenario.world.alice)
    before = fingerprint()
    for crafted in ({"warranty_end": "2099-12-31"}, {"warranty_void": False}):
        response = api.post(
            "/api/v1/terminals/", _body(scenario, "NEW-0002", **crafted), format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "provider_only"
    device = scenario.world.device_a
    end = device.warranty_end
    response = api.patch(
        f"/api/v1/terminals/{device.pk}/", {"warranty_end": "2099-12-31"}, format="json"
    )
    assert response.status_code == 400
    assert fingerprint() == before
    device.refresh_from_db()
    assert device.warranty_end == end


def test_an_edit_changes_only_what_is_sent_and_a_claim_field_resets_the_check(
    scenario: Scenario,
) -> None:
    device = scenario.world.device_a
    api = key_client(scenario.world.alice)
    response = api.patch(f"/api/v1/terminals/{device.pk}/", {"location": "Back"}, format="json")
    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert (device.location, device.warranty_check) == ("Back", WarrantyCheck.VERIFIED)
    new_date = (date.today() - timedelta(days=10)).isoformat()
    response = api.patch(
        f"/api/v1/terminals/{device.pk}/", {"purchase_date": new_date}, format="json"
    )
    assert response.status_code == 200, response.json()
    device.refresh_from_db()
    assert device.warranty_check == WarrantyCheck.CLAIMED
    assert device.merchant_changed_warranty_at is not None


def test_a_technician_reads_but_never_registers(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.xavier)
    assert api.get(f"/api/v1/terminals/{world.device_a.pk}/").status_code == 200
    assert (
        api.post("/api/v1/terminals/", _body(scenario, "NEW-0003"), format="json").status_code
        == 404
    )
    assert (
        api.patch(f"/api/v1/terminals/{world.device_a.pk}/", {"location": "x"}).status_code == 404
    )


def test_bulk_registration_is_all_or_nothing(scenario: Scenario) -> None:
    api = key_client(scenario.world.alice)
    other_model = DeviceModelFactory(brand=scenario.world.device_a.model.brand)
    rows = [
        _body(scenario, "BULK-1"),
        _body(scenario, "BULK-2", model=other_model.pk),
        _body(scenario, "BULK-1"),  # the first one again: a duplicate serial of the brand
    ]
    response = api.post("/api/v1/terminals/bulk/", {"terminals": rows}, format="json")
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"terminals[2].serial_number"}
    assert not Device.objects.filter(serial_number__startswith="BULK").exists()
    response = api.post("/api/v1/terminals/bulk/", {"terminals": rows[:2]}, format="json")
    assert response.status_code == 201, response.json()
    assert len(response.json()["created"]) == 2
    assert Device.objects.filter(serial_number__startswith="BULK").count() == 2


def test_another_shops_serial_is_held_for_a_check_without_saying_whose(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.alice)
    body = _body(scenario, world.device_b.serial_number, model=world.device_b.model_id)
    response = api.post("/api/v1/terminals/", body, format="json")
    assert response.status_code == 202
    assert response.json() == {
        "serial_number": world.device_b.serial_number,
        "status": "pending",
        "held": True,
    }
    assert RegistrationReview.objects.filter(merchant=world.merchant_a).count() == 1
    assert "Shop B" not in response.content.decode()


def test_bulk_refuses_more_than_the_limit_and_the_warranty_fields(scenario: Scenario) -> None:
    api = key_client(scenario.world.alice)
    rows = [_body(scenario, f"MANY-{n}") for n in range(101)]
    assert (
        api.post("/api/v1/terminals/bulk/", {"terminals": rows}, format="json").status_code == 400
    )
    rows = [_body(scenario, "W-1", warranty_end="2099-01-01")]
    response = api.post("/api/v1/terminals/bulk/", {"terminals": rows}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "terminals[0].warranty_end"
    assert not Device.objects.filter(serial_number__in=["W-1", "MANY-0"]).exists()
