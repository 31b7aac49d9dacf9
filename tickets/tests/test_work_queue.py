"""`/work/queues/<pk>/`: a queue's tickets, filtered, searched, sorted and paged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from devices.warranty import WarrantyStatus
from tests.factories import DeviceFactory, MerchantFactory, queued_ticket
from tickets.models import Category, Queue, Ticket

S = Ticket.Status


def queue_of(world: World, kind: str = Queue.Kind.WARRANTY_REPAIR) -> Queue:
    return Queue.objects.get(provider=world.provider_x, kind=kind)


def url(queue: Queue) -> str:
    return reverse("tickets:queue", args=[queue.pk])


def listed(response) -> list[Ticket]:  # noqa: ANN001
    assert response.status_code == 200
    return [row.ticket for row in response.context["rows"]]


def test_it_lists_open_tickets_most_urgent_first(world: World, as_user) -> None:  # noqa: ANN001
    now = timezone.now()
    later = queued_ticket(world.device_a, now=now, priority=3)
    overdue = queued_ticket(world.device_a, now=now - timedelta(days=1))
    soon = queued_ticket(world.device_a, now=now)
    queued_ticket(world.device_a, status=S.CLOSED)
    queued_ticket(world.device_a, kind=Queue.Kind.PAID_REPAIR)  # another queue

    response = as_user(world.xavier).get(url(queue_of(world)))

    assert listed(response) == [overdue, soon, later]
    assert b"sla-overdue" in response.content
    assert b"left" in response.content


def test_a_paused_ticket_says_paused(world: World, as_user) -> None:  # noqa: ANN001
    queued_ticket(
        world.device_a,
        status=S.WAITING_MERCHANT,
        assigned_to=world.xavier,
        sla_paused_at=timezone.now(),
        first_responded_at=timezone.now(),
    )
    response = as_user(world.xavier).get(url(queue_of(world)))
    assert response.context["rows"][0].clock.text == "paused"
    assert b"paused" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "closed"}, {"closed"}),
        ({"status": "all"}, {"open_mine", "open_free", "p3", "printer", "out", "closed"}),
        ({"priority": "3"}, {"p3"}),
        ({"category": Category.SOFTWARE}, {"printer"}),
        ({"warranty": WarrantyStatus.OUT}, {"out"}),
        ({"assigned": "me"}, {"open_mine"}),
        ({"assigned": "unassigned"}, {"open_free", "p3", "printer", "out"}),
        ({"overdue": "on"}, {"open_free"}),
    ],
)
def test_each_filter_narrows_the_list(world: World, as_user, query, expected) -> None:  # noqa: ANN001
    old = timezone.now() - timedelta(days=3)
    tickets = {
        "open_mine": queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier),
        "open_free": queued_ticket(world.device_a, now=old),
        "p3": queued_ticket(world.device_a, priority=3),
        "printer": queued_ticket(world.device_a, category=Category.SOFTWARE, symptom="frozen"),
        "out": queued_ticket(world.device_a, warranty_status=WarrantyStatus.OUT),
        "closed": queued_ticket(world.device_a, status=S.CLOSED),
    }
    names = {t.pk: name for name, t in tickets.items()}
    found = listed(as_user(world.xavier).get(url(queue_of(world)), query))
    assert {names[t.pk] for t in found} == expected


def test_search_finds_by_reference_serial_or_merchant(world: World, as_user) -> None:  # noqa: ANN001
    corner = MerchantFactory(name="Corner Noodles")
    other_device = DeviceFactory(merchant=corner, provider=world.provider_x, serial_number="ZX-991")
    by_merchant = queued_ticket(other_device)
    plain = queued_ticket(world.device_a)
    client = as_user(world.xavier)
    target = url(queue_of(world))

    assert listed(client.get(target, {"q": plain.reference.lower()})) == [plain]
    assert listed(client.get(target, {"q": "zx-99"})) == [by_merchant]
    assert listed(client.get(target, {"q": "noodles"})) == [by_merchant]
    assert listed(client.get(target, {"q": "nothing like it"})) == []


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "merchant__members__password"},
        {"sort": "-id; DROP TABLE x"},
        {"status": "everything"},
        {"priority": "9"},
        {"priority": "x"},
        {"assigned": "42"},
        {"page": "-3"},
        {"page": "lots"},
        {"merchant__members__password__startswith": "md5"},
        {"category": "<script>"},
    ],
)
def test_unknown_sort_and_filter_values_are_ignored(world: World, as_user, query) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    response = as_user(world.xavier).get(url(queue_of(world)), query)
    assert listed(response) == [ticket]


@pytest.mark.parametrize("sort", ["due", "priority", "newest", "oldest", "updated"])
def test_every_offered_sort_works(world: World, as_user, sort: str) -> None:  # noqa: ANN001
    first = queued_ticket(world.device_a, priority=2)
    second = queued_ticket(world.device_a, priority=1)
    found = listed(as_user(world.xavier).get(url(queue_of(world)), {"sort": sort}))
    assert set(found) == {first, second}
    if sort == "oldest":
        assert found == [first, second]
    if sort in {"newest", "priority"}:
        assert found == [second, first]


def test_it_pages_by_25_without_counting_the_queue(world: World, as_user) -> None:  # noqa: ANN001
    for _ in range(30):
        queued_ticket(world.device_a)
    client = as_user(world.xavier)
    target = url(queue_of(world))

    with CaptureQueriesContext(connection) as queries:
        first = client.get(target, {"sort": "oldest"})
    second = client.get(target, {"sort": "oldest", "page": 2})

    assert len(first.context["rows"]) == 25
    assert first.context["has_next"]
    assert not first.context["has_previous"]
    assert len(second.context["rows"]) == 5
    assert not second.context["has_next"]
    assert set(listed(first)).isdisjoint(listed(second))
    assert b"page=2" in first.content
    assert b"sort=oldest" in first.content
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_the_query_count_does_not_grow_with_the_rows(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.xavier)
    target = url(queue_of(world))
    queued_ticket(world.device_a, assigned_to=world.xena, status=S.IN_PROGRESS)
    client.get(target)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(target).context["rows"]) == 1
    for n in range(49):
        device = DeviceFactory(merchant=MerchantFactory(), provider=world.provider_x)
        queued_ticket(device, assigned_to=world.xena if n % 2 else None)
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(target, {"status": "all"}).context["rows"]) == 25
    assert len(fifty) == len(one)


def test_another_providers_queue_is_404(world: World, as_user) -> None:  # noqa: ANN001
    theirs = Queue.objects.get(provider=world.provider_y, kind=Queue.Kind.WARRANTY_REPAIR)
    queued_ticket(world.device_b)
    assert as_user(world.xavier).get(url(theirs)).status_code == 404
    assert as_user(world.yuri).get(url(theirs)).status_code == 200


def test_the_platform_queue_is_404_to_technicians(world: World, as_user) -> None:  # noqa: ANN001
    platform, _ = Queue.objects.get_or_create(
        provider=None, kind=Queue.Kind.TRIAGE, defaults={"name": "Platform triage"}
    )
    assert as_user(world.xavier).get(url(platform)).status_code == 404


def test_merchants_get_404(world: World, as_user) -> None:  # noqa: ANN001
    assert as_user(world.alice).get(url(queue_of(world))).status_code == 404
