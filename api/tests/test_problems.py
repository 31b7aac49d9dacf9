"""Errors are application/problem+json (RFC 9457), in the caller's language; requests are
throttled per key."""

from __future__ import annotations

from api.tests.conftest import key_client
from tests.security.conftest import Scenario

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def test_a_field_error_is_a_problem_with_errors(scenario: Scenario) -> None:
    api = key_client(scenario.world.xavier)
    response = api.post(f"/api/v1/tickets/{scenario.ticket_a.reference}/note/", {}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == 400
    assert body["type"].endswith("/invalid")
    assert body["errors"] == [
        {"field": "body", "detail": "This field is required.", "code": "required"}
    ]


def test_a_bad_filter_is_refused_not_passed_to_the_orm(scenario: Scenario) -> None:
    api = key_client(scenario.world.xavier)
    response = api.get("/api/v1/tickets/", {"status": "password", "priority": "9"})
    assert response.status_code == 400
    assert {e["field"] for e in response.json()["errors"]} == {"status", "priority"}


def test_problems_are_in_the_key_owners_language(scenario: Scenario) -> None:
    world = scenario.world
    type(world.xavier).objects.filter(pk=world.xavier.pk).update(language="zh-hans")
    api = key_client(world.xavier)
    response = api.get("/api/v1/tickets/PD-999999/")
    assert response.status_code == 404
    assert response.json()["title"] == "未找到"


def test_throttling_per_key(scenario: Scenario, settings) -> None:  # noqa: ANN001
    settings.API_RATE_LIMIT = "3/min"
    first = key_client(scenario.world.alice)
    for _ in range(3):
        assert first.get("/api/v1/tickets/").status_code == 200
    response = first.get("/api/v1/tickets/")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    # The sliding window (portal.limits): at most two windows away.
    assert 0 < int(response["Retry-After"]) <= 120
    # Per key: another key of the same person has its own count.
    assert key_client(scenario.world.alice).get("/api/v1/tickets/").status_code == 200
