from __future__ import annotations

from django.urls import reverse

from conftest import World
from devices.tests.helpers import device_post
from tests.factories import DeviceFactory


def url(pk: int) -> str:
    return reverse("devices:edit", args=[pk])


def test_it_shows_the_form_filled_in(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(url(world.device_a.pk))
    assert response.status_code == 200
    assert f'value="{world.device_a.serial_number}"' in response.text


def test_it_saves_the_changes(world: World, as_user) -> None:  # noqa: ANN001
    data = device_post(world, serial_number=world.device_a.serial_number, location="Bar")
    response = as_user(world.alice).post(url(world.device_a.pk), data)
    assert response.status_code == 302
    world.device_a.refresh_from_db()
    assert world.device_a.location == "Bar"


def test_keeping_its_own_serial_is_not_a_duplicate(world: World, as_user) -> None:  # noqa: ANN001
    data = device_post(world, serial_number=world.device_a.serial_number.lower())
    response = as_user(world.alice).post(url(world.device_a.pk), data)
    assert response.status_code == 302


def test_taking_another_terminals_serial_is_reported_at_the_field(world: World, as_user) -> None:  # noqa: ANN001
    other = DeviceFactory(merchant=world.merchant_a, model=world.device_a.model)
    data = device_post(world, serial_number=other.serial_number)
    response = as_user(world.alice).post(url(world.device_a.pk), data)
    assert response.status_code == 200
    assert "already registered" in response.context["form"].errors["serial_number"][0]


def test_it_refuses_another_merchants_device(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.bob).get(url(world.device_a.pk)).status_code == 404


def test_a_crafted_post_to_another_merchants_device_changes_nothing(world: World, as_user) -> None:  # noqa: ANN001
    data = device_post(world, serial_number="STOLEN-1", location="Bob's shop")
    response = as_user(world.bob).post(url(world.device_a.pk), data)
    assert response.status_code == 404
    world.device_a.refresh_from_db()
    assert world.device_a.serial_number != "STOLEN-1"
    assert world.device_a.merchant == world.merchant_a


def test_it_is_404_for_a_technician(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.xavier).get(url(world.device_a.pk)).status_code == 404


def test_an_unknown_device_is_404(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.alice).get(url(999_999)).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(world: World, client) -> None:  # noqa: ANN001
    response = client.get(url(world.device_a.pk))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
