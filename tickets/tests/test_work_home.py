"""`/work/`: the technician's queues with their counts, and the most urgent tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import queued_ticket
from tickets.models import Queue, Ticket

S = Ticket.Status
URL = reverse("tickets:work")


def test_it_shows_each_queue_with_its_counts(world: World, as_user) -> None:  # noqa: ANN001
    old = timezone.now() - timedelta(days=10)
    queued_ticket(world.device_a)  # unassigned
    queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xavier)  # mine
    queued_ticket(world.device_a, status=S.IN_PROGRESS, assigned_to=world.xena)
    queued_ticket(world.device_a, status=S.WAITING_MERCHANT, assigned_to=world.xavier)  # mine
    queued_ticket(world.device_a, now=old)  # unassigned and overdue
    queued_ticket(world.device_a, now=old, status=S.CLOSED)  # not counted at all
    queued_ticket(world.device_a, kind=Queue.Kind.PAID_REPAIR, assigned_to=world.xavier)
    queued_ticket(world.device_b)  # provider Y: never here

    response = as_user(world.xavier).get(URL)

    assert response.status_code == 200
    queues = {q.kind: q for q in response.context["queues"]}
    assert set(queues) == set(
        Queue.objects.filter(provider=world.provider_x).values_list("kind", flat=True)
    )
    warranty = queues[Queue.Kind.WARRANTY_REPAIR]
    counts = (warranty.unassigned, warranty.mine, warranty.waiting, warranty.overdue)
    assert counts == (2, 2, 1, 1)
    paid = queues[Queue.Kind.PAID_REPAIR]
    assert (paid.unassigned, paid.mine, paid.waiting, paid.overdue) == (0, 1, 0, 0)


def test_the_counts_are_one_query_however_many_queues(world: World, as_user) -> None:  # noqa: ANN001
    for _ in range(3):
        queued_ticket(world.device_a)
    client = as_user(world.xavier)
    client.get(URL)  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for kind in Queue.Kind.values:
        queued_ticket(world.device_a, kind=kind, status=S.WAITING_MERCHANT)
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)
    # The queues' counts (the open incidents block counts its shops in a query of its own).
    counted = [
        q["sql"]
        for q in many.captured_queries
        if "COUNT(" in q["sql"].upper() and 'FROM "tickets_queue"' in q["sql"]
    ]
    assert len(counted) == 1
    assert "GROUP BY" in counted[0].upper()


def test_the_most_urgent_tickets_come_first(world: World, as_user) -> None:  # noqa: ANN001
    now = timezone.now()
    relaxed = queued_ticket(world.device_a, now=now, priority=3)
    overdue = queued_ticket(world.device_a, now=now - timedelta(days=2))
    soon = queued_ticket(world.device_a, now=now)
    queued_ticket(world.device_a, now=now - timedelta(days=9), status=S.RESOLVED)

    response = as_user(world.xavier).get(URL)

    assert [row.ticket for row in response.context["rows"]] == [overdue, soon, relaxed]
    assert response.context["rows"][0].clock.overdue
    assert b"sla-overdue" in response.content


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_merchants_get_404(world: World, as_user, who: str) -> None:  # noqa: ANN001
    assert as_user(getattr(world, who)).get(URL).status_code == 404


def test_staff_are_sent_to_the_admin(world: World, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).get(URL)
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


def test_anonymous_users_are_sent_to_log_in(client) -> None:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 302
    assert reverse("login") in response.url
