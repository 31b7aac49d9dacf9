"""The ticket list: newest first, a cursor page at a time, filtered by allow-listed
values, in a fixed number of queries however many rows (bench W8: at most 8)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.tests.conftest import key_client
from tests.security.conftest import Scenario, routed_ticket
from tickets.models import Ticket


def _queries(client, path: str) -> int:  # noqa: ANN001
    client.get(path)  # the key's last use is written at most once a minute: not here
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_list_reads_in_a_fixed_number_of_queries(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.xavier)
    few = _queries(api, "/api/v1/tickets/")
    for _ in range(30):
        ticket = routed_ticket(world.device_a, world.alice)
        Ticket.objects.filter(pk=ticket.pk).update(assigned_to=world.xena)
    many = _queries(api, "/api/v1/tickets/")
    assert many == few
    assert many <= 8


def test_cursor_pages_walk_every_ticket_once_newest_first(scenario: Scenario) -> None:
    world = scenario.world
    for _ in range(7):
        routed_ticket(world.device_a, world.alice)
    api = key_client(world.alice)
    seen, path = [], "/api/v1/tickets/?page_size=3"
    while path:
        page = api.get(path).json()
        seen += [row["reference"] for row in page["results"]]
        path = page["next"]
    expected = list(
        Ticket.objects.filter(merchant=world.merchant_a)
        .order_by("-id")
        .values_list("reference", flat=True)
    )
    assert seen == expected


def test_filters(scenario: Scenario) -> None:
    world = scenario.world
    api = key_client(world.xavier)
    key_client(world.xavier).post(f"/api/v1/tickets/{scenario.ticket_a.reference}/claim/")
    other = routed_ticket(world.device_a, world.alice)
    mine = api.get("/api/v1/tickets/", {"assigned": "me"}).json()["results"]
    assert [row["reference"] for row in mine] == [scenario.ticket_a.reference]
    nobody = api.get("/api/v1/tickets/", {"assigned": "unassigned"}).json()["results"]
    assert [row["reference"] for row in nobody] == [other.reference]
    in_progress = api.get("/api/v1/tickets/", {"status": "in_progress"}).json()["results"]
    assert [row["reference"] for row in in_progress] == [scenario.ticket_a.reference]
    # Another provider's queue is no filter: it finds nothing of theirs.
    foreign = api.get("/api/v1/tickets/", {"queue": scenario.queue_y.pk}).json()["results"]
    assert foreign == []
