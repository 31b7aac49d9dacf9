"""Saved views (issue 14, item 5): a technician names a queue's filter; it shows on
/work/ and beside each queue with a live count, costs a fixed number of queries, and is
theirs alone."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import World
from tests.factories import queued_ticket
from tickets import workflow
from tickets.models import SavedView
from tickets.saved_views import MAX_VIEWS

pytestmark = pytest.mark.django_db


def save(client, queue, query: str, name: str):  # noqa: ANN001, ANN201
    return client.post(
        reverse("tickets:saved_view_new", args=[queue.pk]), {"name": name, "query": query}
    )


def test_a_saved_view_shows_with_its_live_count(world: World, as_user) -> None:  # noqa: ANN001
    tickets = [queued_ticket(world.device_a, reporter=world.alice) for _ in range(3)]
    queue = tickets[0].queue
    client = as_user(world.xavier)
    response = save(client, queue, "assigned=me&sort=oldest&page=3&bogus=1", "My oldest")
    assert response.status_code == 302
    assert response.url == reverse("tickets:queue", args=[queue.pk]) + "?assigned=me&sort=oldest"
    view = SavedView.objects.get(user=world.xavier)
    assert view.params == {"assigned": "me", "sort": "oldest"}

    home = client.get(reverse("tickets:work"))
    [shown] = home.context["saved_views"]
    assert (shown.view.name, shown.count) == ("My oldest", 0)
    workflow.claim(tickets[0], world.xavier)
    workflow.claim(tickets[1], world.xavier)
    [shown] = client.get(reverse("tickets:work")).context["saved_views"]
    assert shown.count == 2
    assert 'href="/work/queues/' in home.content.decode()
    assert client.get(shown.url).context["rows"][0].ticket.assigned_to == world.xavier


def test_names_are_one_each_and_at_most_a_dozen(world: World, as_user) -> None:  # noqa: ANN001
    queue = queued_ticket(world.device_a).queue
    client = as_user(world.xavier)
    save(client, queue, "assigned=me", "Mine")
    again = save(client, queue, "assigned=unassigned", "Mine")
    assert "already have a view called" in " ".join(m.message for m in again.wsgi_request._messages)
    for n in range(MAX_VIEWS - 1):
        save(client, queue, f"priority={1 + n % 3}", f"View {n}")
    too_many = save(client, queue, "priority=1", "One more")
    assert "delete one first" in " ".join(m.message for m in too_many.wsgi_request._messages)
    assert SavedView.objects.filter(user=world.xavier).count() == MAX_VIEWS


def test_the_home_pages_queries_do_not_grow_with_the_tickets(world: World, as_user) -> None:  # noqa: ANN001
    queue = queued_ticket(world.device_a).queue
    client = as_user(world.xavier)
    save(client, queue, "assigned=unassigned", "Unassigned")
    client.get(reverse("tickets:work"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("tickets:work"))
    for _ in range(15):
        queued_ticket(world.device_a)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("tickets:work"))
    assert len(few) == len(many)


def test_views_are_their_owners_alone(world: World, as_user) -> None:  # noqa: ANN001
    queue = queued_ticket(world.device_a).queue
    save(as_user(world.xavier), queue, "assigned=me", "Mine")
    view = SavedView.objects.get()
    # A colleague neither sees nor deletes it; another provider cannot save on X's queue.
    colleague = as_user(world.xena)
    assert colleague.get(reverse("tickets:work")).context["saved_views"] == []
    assert colleague.post(reverse("tickets:saved_view_delete", args=[view.pk])).status_code == 404
    other = as_user(world.yuri)
    assert save(other, queue, "assigned=me", "Theirs").status_code == 404
    assert (
        as_user(world.alice).post(reverse("tickets:saved_view_delete", args=[view.pk])).status_code
        == 404
    )
    assert SavedView.objects.count() == 1
    as_user(world.xavier).post(reverse("tickets:saved_view_delete", args=[view.pk]))
    assert not SavedView.objects.exists()
