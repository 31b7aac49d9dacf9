from __future__ import annotations

from datetime import timedelta

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import DeviceFactory, UserFactory

URL = reverse("devices:list")


def test_it_lists_only_the_merchants_own_terminals(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(URL)
    assert response.status_code == 200
    assert world.device_a.serial_number in response.text
    assert world.device_b.serial_number not in response.text


def test_it_links_each_terminal_to_report_a_fault(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(URL)
    assert f"{reverse('tickets:new')}?device={world.device_a.pk}" in response.text


def test_it_shows_the_warranty_badge_with_days_left(world: World, as_user) -> None:  # noqa: ANN001
    world.device_a.warranty_end = timezone.localdate() + timedelta(days=30)
    world.device_a.save()
    response = as_user(world.alice).get(URL)
    assert "In warranty" in response.text
    assert "30 days left" in response.text


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({"warranty_end": -1}, "Out of warranty"),
        ({"warranty_void": True, "warranty_void_reason": "Dropped"}, "Warranty void"),
        ({"purchase_date": None, "warranty_end": None}, "Warranty unknown"),
    ],
)
def test_it_shows_out_void_and_unknown_warranties(
    world: World,
    as_user,  # noqa: ANN001
    fields: dict[str, object],
    label: str,
) -> None:
    if fields.get("warranty_end") == -1:
        fields = {"warranty_end": timezone.localdate() - timedelta(days=1)}
    DeviceFactory(merchant=world.merchant_a, **fields)
    assert label in as_user(world.alice).get(URL).text


def test_it_searches_by_serial_ignoring_case_and_spaces(world: World, as_user) -> None:  # noqa: ANN001
    other = DeviceFactory(merchant=world.merchant_a, serial_number="ZZ-9911")
    response = as_user(world.alice).get(URL, {"q": "  zz-99 "})
    assert other.serial_number in response.text
    assert world.device_a.serial_number not in response.text


def test_the_search_never_finds_another_merchants_terminal(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.alice).get(URL, {"q": world.device_b.serial_number})
    assert list(response.context["page"].object_list) == []
    assert "No terminal has a serial number containing" in response.text


def test_it_paginates_by_25(world: World, as_user) -> None:  # noqa: ANN001
    DeviceFactory.create_batch(30, merchant=world.merchant_a)
    client = as_user(world.alice)
    first = client.get(URL)
    assert len(first.context["page"].object_list) == 25
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 6
    assert "Page 2 of 2" in second.text


def test_the_page_links_keep_the_search(world: World, as_user) -> None:  # noqa: ANN001
    DeviceFactory.create_batch(
        30, merchant=world.merchant_a, serial_number=factory.Sequence(lambda n: f"AB{n:06d}")
    )
    response = as_user(world.alice).get(URL, {"q": "ab"})
    assert "?q=ab&amp;page=2" in response.text


def test_it_runs_the_same_queries_for_1_or_50_terminals(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    DeviceFactory.create_batch(49, merchant=world.merchant_a)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(URL)
    assert len(response.context["page"].object_list) == 25
    assert len(fifty) == len(one)


@pytest.mark.parametrize("who", ["xavier", "admin"])
def test_it_is_404_for_technicians_and_staff(world: World, as_user, who: str) -> None:  # noqa: ANN001
    assert as_user(getattr(world, who)).get(URL).status_code == 404


def test_it_is_404_for_a_user_without_a_role(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(UserFactory(username="nobody")).get(URL).status_code == 404


def test_it_sends_anonymous_visitors_to_log_in(world: World, client) -> None:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
