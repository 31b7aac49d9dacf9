"""/tickets/: the merchant's own tickets, filters from an allow-list, fixed query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import DeviceFactory, TicketFactory, queued_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
URL = reverse("tickets:list")


def test_it_lists_only_the_merchants_own_tickets(world, as_user) -> None:
    mine = queued_ticket(world.device_a)
    theirs = queued_ticket(world.device_b)
    response = as_user(world.alice).get(URL)
    assert response.status_code == 200
    assert mine.reference in response.text
    assert theirs.reference not in response.text
    assert "Provider X" in response.text


def test_it_filters_by_status(world, as_user) -> None:
    queued = queued_ticket(world.device_a)
    new = TicketFactory(device=world.device_a)
    response = as_user(world.alice).get(URL, {"status": "new"})
    assert new.reference in response.text
    assert queued.reference not in response.text


def test_it_filters_by_device(world, as_user) -> None:
    other_device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
    on_a = queued_ticket(world.device_a)
    on_other = queued_ticket(other_device)
    response = as_user(world.alice).get(URL, {"device": other_device.pk})
    assert on_other.reference in response.text
    assert on_a.reference not in response.text


@pytest.mark.parametrize(
    "params",
    [
        {"status": "password"},
        {"status": "-reporter__password"},
        {"device": "abc"},
        {"device": "999999"},
        {"page": "x"},
        {"page": "999"},
    ],
)
def test_values_outside_the_allow_list_are_ignored(world, as_user, params: dict) -> None:
    ticket = queued_ticket(world.device_a)
    response = as_user(world.alice).get(URL, params)
    assert response.status_code == 200
    assert ticket.reference in response.text


def test_another_merchants_device_is_not_a_filter(world, as_user) -> None:
    mine = queued_ticket(world.device_a)
    response = as_user(world.alice).get(URL, {"device": world.device_b.pk})
    assert response.status_code == 200
    assert mine.reference in response.text
    assert world.device_b.serial_number not in response.text


def test_it_paginates_by_25(world, as_user) -> None:
    for _ in range(26):
        TicketFactory(device=world.device_a)
    client = as_user(world.alice)
    first = client.get(URL)
    assert len(first.context["page"].object_list) == 25
    second = client.get(URL, {"page": 2})
    assert len(second.context["page"].object_list) == 1


def test_page_links_keep_the_filters(world, as_user) -> None:
    for _ in range(26):
        TicketFactory(device=world.device_a)
    response = as_user(world.alice).get(URL, {"status": "new"})
    assert "?status=new&amp;page=2" in response.text


def _queries(client) -> int:  # noqa: ANN001
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries)


def test_the_query_count_is_the_same_for_1_and_50_tickets(world, as_user) -> None:
    client = as_user(world.alice)
    queued_ticket(world.device_a)
    one = _queries(client)
    for n in range(49):
        device = DeviceFactory(merchant=world.merchant_a, provider=world.provider_x)
        if n % 2:
            queued_ticket(device)
        else:
            TicketFactory(device=device)
    assert Ticket.objects.filter(merchant=world.merchant_a).count() == 50
    assert _queries(client) == one


def test_it_is_a_404_for_technicians(world, as_user) -> None:
    assert as_user(world.xavier).get(URL).status_code == 404


def test_it_is_read_only(world, as_user) -> None:
    assert as_user(world.alice).post(URL).status_code == 405
