"""`/work/mine/`: all of a technician's tickets across its provider's queues."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import DeviceFactory, MerchantFactory, queued_ticket
from tickets.models import Queue, Ticket

URL = reverse("tickets:work_mine")
S = Ticket.Status


def listed(response) -> list[Ticket]:  # noqa: ANN001
    assert response.status_code == 200
    return [row.ticket for row in response.context["rows"]]


def test_it_lists_my_open_tickets_of_every_queue_most_urgent_first(world: World, as_user) -> None:  # noqa: ANN001
    now = timezone.now()
    later = queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier, now=now)
    overdue = queued_ticket(
        world.device_a,
        kind=Queue.Kind.PAID_REPAIR,
        status=S.IN_PROGRESS,
        assigned_to=world.xavier,
        now=now - timedelta(days=2),
    )
    waiting = queued_ticket(
        world.device_a, status=S.WAITING_MERCHANT, assigned_to=world.xavier, now=now
    )
    queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xena)  # a colleague's
    queued_ticket(world.device_a)  # nobody's
    queued_ticket(world.device_a, status=S.RESOLVED, assigned_to=world.xavier)
    queued_ticket(world.device_a, status=S.CLOSED, assigned_to=world.xavier)

    found = listed(as_user(world.xavier).get(URL))

    assert found[0] == overdue
    assert set(found) == {overdue, later, waiting}


def test_it_filters_waiting_and_resolved(world: World, as_user) -> None:  # noqa: ANN001
    queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier)
    waiting = queued_ticket(world.device_a, status=S.WAITING_MERCHANT, assigned_to=world.xavier)
    resolved = queued_ticket(
        world.device_a, status=S.RESOLVED, assigned_to=world.xavier, resolved_at=timezone.now()
    )
    client = as_user(world.xavier)
    assert listed(client.get(URL, {"show": "waiting"})) == [waiting]
    assert listed(client.get(URL, {"show": "resolved"})) == [resolved]
    # A crafted value is the default list, never an error.
    assert len(listed(client.get(URL, {"show": "password"}))) == 2


def test_it_pages(world: World, as_user) -> None:  # noqa: ANN001
    tickets = [
        queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier)
        for _ in range(30)
    ]
    client = as_user(world.xavier)
    first, second = client.get(URL), client.get(URL, {"page": 2})
    assert len(listed(first)) == 25
    assert len(listed(second)) == 5
    assert set(listed(first)) | set(listed(second)) == set(tickets)
    assert b"page=2" in first.content
    assert b"Page 1 of 2" in first.content


def test_the_query_count_does_not_grow_with_the_rows(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier)
    client.get(URL)
    with CaptureQueriesContext(connection) as one:
        assert len(listed(client.get(URL))) == 1
    for _ in range(40):
        device = DeviceFactory(merchant=MerchantFactory(), provider=world.provider_x)
        queued_ticket(device, status=S.IN_PROGRESS, assigned_to=world.xavier)
    with CaptureQueriesContext(connection) as many:
        assert len(listed(client.get(URL))) == 25
    assert len(many) == len(one)


def test_a_ticket_now_in_another_providers_queue_is_not_mine_here(world: World, as_user) -> None:  # noqa: ANN001
    # Transferred to Y with X's technician still named on it: Y's ticket now.
    queued_ticket(
        world.device_a, provider=world.provider_y, status=S.IN_PROGRESS, assigned_to=world.xavier
    )
    assert listed(as_user(world.xavier).get(URL)) == []


def test_merchants_get_404_and_visitors_log_in(world: World, as_user, client) -> None:  # noqa: ANN001
    assert as_user(world.alice).get(URL).status_code == 404
    assert client.get(URL).status_code == 302
