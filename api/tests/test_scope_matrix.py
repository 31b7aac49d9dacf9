"""The API's scope matrix: every /api/v1/ route, as every role, on its own objects and on
the other side's. Outside one's scope is a 404 (GET and a crafted POST alike), with
nothing written; anonymous callers get 401; admins use the Django admin, so the API
answers them 404 as the web's merchant and technician pages do.

The routes are read from the resolver, so a new route is checked without editing this
file; its URL keywords are described in tests/security/urlmap.py (KWARG_KINDS).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.tests.conftest import key_client
from tests.security.conftest import Scenario, crafted_post, fingerprint
from tests.security.urlmap import foreign_variants, own_url, project_urls

API_URLS = [url for url in project_urls() if url.route.startswith("/api/v1/")]
WITH_IDS = [url for url in API_URLS if url.kwargs]

MERCHANT_ONLY_ROUTES = {
    "api:terminal_bulk",
    "api:ticket_quote_accept",
    "api:ticket_quote_decline",
    "api:ticket_confirm",
    "api:ticket_reopen",
    "api:ticket_rate",
}
TECHNICIAN_ONLY_ROUTES = {
    "api:queues",
    "api:queue",
    "api:ticket_claim",
    "api:ticket_note",
    "api:ticket_ask",
    "api:ticket_quote",
    "api:ticket_transfer",
    "api:ticket_resolve",
}


def test_the_matrix_has_every_kind_of_route() -> None:
    names = {url.name for url in API_URLS}
    assert {
        "api:tickets",
        "api:ticket",
        "api:ticket_claim",
        "api:terminal",
        "api:queue",
        "api:incident",
        "api:ticket_rate",
    } <= names
    assert len(WITH_IDS) >= 15


ROLES = ["alice", "bob_on_a", "xavier", "yuri_on_x", "xena"]


def _sides(scenario: Scenario, role: str) -> tuple[object, dict, dict]:
    world = scenario.world
    if role in {"alice", "xavier", "xena"}:
        return getattr(world, role), scenario.side_a(), scenario.side_b()
    user = world.bob if role == "bob_on_a" else world.yuri
    return user, scenario.side_b(), scenario.side_a()


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_404_outside_the_callers_scope(scenario: Scenario, role: str) -> None:
    user, own, foreign = _sides(scenario, role)
    client = key_client(user)
    failures = []
    for url in WITH_IDS:
        for label, kwargs in foreign_variants(url, own, foreign):
            path = reverse(url.name, kwargs=kwargs)
            before = fingerprint()
            get = client.get(path)
            post = client.post(path, crafted_post(scenario), format="json")
            patch = client.patch(path, crafted_post(scenario), format="json")
            after = fingerprint()
            for method, response in (("GET", get), ("POST", post), ("PATCH", patch)):
                if response.status_code not in {404, 405}:
                    failures.append(f"{url.name} {label}: {method} {response.status_code} {path}")
            if before != after:
                changed = sorted(k for k in before if before[k] != after[k])
                failures.append(f"{url.name} {label}: the database changed {changed}")
            for response in (get, post, patch):
                assert response["Content-Type"] == "application/problem+json"
    assert not failures, f"{role} reached outside their scope:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ["alice", "xavier"])
def test_the_other_sides_routes_answer_404_on_own_objects(scenario: Scenario, role: str) -> None:
    """A merchant on a technician's route (and the reverse) is outside its scope too."""
    user, own, _foreign = _sides(scenario, role)
    client = key_client(user)
    refused = TECHNICIAN_ONLY_ROUTES if role == "alice" else MERCHANT_ONLY_ROUTES
    before = fingerprint()
    for url in API_URLS:
        if url.name not in refused:
            continue
        path = own_url(url, own)
        assert client.get(path).status_code in {404, 405}, path
        post = client.post(path, crafted_post(scenario), format="json")
        assert post.status_code in {404, 405}, path
    assert fingerprint() == before


@pytest.mark.parametrize("role", ["alice", "xavier", "xena"])
def test_every_read_route_answers_its_own_side(scenario: Scenario, role: str) -> None:
    """The matrix's other half: the same routes do answer in scope (no 404 for all)."""
    user, own, _foreign = _sides(scenario, role)
    client = key_client(user)
    refused = TECHNICIAN_ONLY_ROUTES if role == "alice" else MERCHANT_ONLY_ROUTES
    for url in API_URLS:
        if url.name in refused or url.name in {"api:terminal_incidents"}:
            continue
        response = client.get(own_url(url, own))
        if response.status_code == 405:
            continue
        assert response.status_code == 200, (url.name, response.status_code, response.json())


def test_terminal_incidents_in_scope(scenario: Scenario) -> None:
    client = key_client(scenario.world.alice)
    path = reverse("api:terminal_incidents", args=[scenario.world.device_a.pk])
    response = client.get(path, {"category": "network"})
    assert response.status_code == 200
    assert [i["id"] for i in response.json()] == [scenario.incident_x.pk]


@pytest.mark.parametrize("url", API_URLS, ids=str)
def test_anonymous_callers_get_401(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    before = fingerprint()
    for method in ("get", "post"):
        response = getattr(APIClient(), method)(path)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert response.json()["status"] == 401
    assert fingerprint() == before


def test_admins_use_the_django_admin_not_the_api(scenario: Scenario) -> None:
    client = APIClient()
    client.force_login(scenario.world.admin)
    before = fingerprint()
    for url in API_URLS:
        path = own_url(url, scenario.side_a())
        assert client.get(path).status_code in {404, 405}, path
        # The session's CSRF is not enforced by the test client: this is the scope check.
        assert client.post(path, crafted_post(scenario), format="json").status_code in {404, 405}
    assert fingerprint() == before


def test_lists_hold_only_the_callers_objects(scenario: Scenario) -> None:
    world = scenario.world
    alice = key_client(world.alice).get("/api/v1/tickets/").json()["results"]
    assert [t["reference"] for t in alice] == [scenario.ticket_a.reference]
    yuri = key_client(world.yuri).get("/api/v1/tickets/").json()["results"]
    assert [t["reference"] for t in yuri] == [scenario.ticket_b.reference]
    terminals = key_client(world.bob).get("/api/v1/terminals/").json()["results"]
    assert [t["id"] for t in terminals] == [world.device_b.pk]
    queues = key_client(world.xavier).get("/api/v1/queues/").json()
    assert scenario.queue_x.pk in {q["id"] for q in queues}
    assert scenario.queue_y.pk not in {q["id"] for q in queues}
    incidents = key_client(world.yuri).get("/api/v1/incidents/").json()["results"]
    assert [i["id"] for i in incidents] == [scenario.incident_y.pk]


def test_list_rows_are_what_the_schema_says(scenario: Scenario) -> None:
    """The list's rows are built without the serializer (bench W8): the same output."""
    from api.serializers import LIST_VALUES, TicketListSerializer, list_rows
    from tickets.models import Ticket

    xavier = scenario.world.xavier
    type(xavier).objects.filter(pk=xavier.pk).update(first_name="Xavier", last_name="Li")
    key_client(xavier).post(f"/api/v1/tickets/{scenario.ticket_a.reference}/claim/")
    tickets = list(Ticket.objects.order_by("pk"))
    assert any(t.assigned_to_id for t in tickets)
    rows = list(Ticket.objects.order_by("pk").values(*LIST_VALUES))
    assert list_rows(rows) == TicketListSerializer(tickets, many=True).data
    assert "Xavier Li" in {row["assigned_to"] for row in list_rows(rows)}
