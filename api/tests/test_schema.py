"""The OpenAPI schema is valid OpenAPI 3 and describes exactly the routes the API has."""

from __future__ import annotations

import re

import yaml
from openapi_spec_validator import validate

from api.tests.conftest import key_client
from tests.security.urlmap import project_urls


def _schema(client) -> dict:  # noqa: ANN001
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_validates(scenario) -> None:  # noqa: ANN001
    validate(_schema(key_client(scenario.world.alice)))


def test_the_schema_matches_the_views(scenario) -> None:  # noqa: ANN001
    from django.urls import resolve

    schema = _schema(key_client(scenario.world.xavier))
    documented = {re.sub(r"\{[^}]+\}", "{}", path) for path in schema["paths"]}
    routes = {
        re.sub(r"<[^>]+>", "{}", url.route)
        for url in project_urls()
        if url.route.startswith("/api/v1/")
    }
    assert documented == routes
    # Each documented method is one the view answers, and each the view answers is documented.
    for path, operations in schema["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path).replace("/tickets/1/", "/tickets/PD-000001/")
        view = resolve(concrete).func.view_class
        allowed = {m for m in view.http_method_names if hasattr(view, m)} - {"options", "head"}
        assert set(operations) - {"parameters"} == allowed, path
        for operation in operations.values():
            assert {"apiKey": []} in operation["security"]


def test_the_schema_names_the_warranty_rules(scenario) -> None:  # noqa: ANN001
    schema = _schema(key_client(scenario.world.alice))
    terminal = schema["components"]["schemas"]["TerminalRequestRequest"]["properties"]
    assert "purchase_date" in terminal
    assert "warranty_end" not in terminal
    assert "warranty_void" not in terminal


def test_anonymous_callers_get_no_schema(db) -> None:  # noqa: ANN001
    from rest_framework.test import APIClient

    assert APIClient().get("/api/schema/").status_code == 401


def test_the_docs_page_runs_under_the_sites_csp(scenario, client) -> None:  # noqa: ANN001
    client.force_login(scenario.world.alice)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    html = response.content.decode()
    # The only inline script carries the nonce; the bundles are our own static files.
    assert f'<script nonce="{nonce}">' in html
    assert html.count("<script>") == 0
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<style>" not in html


def test_the_docs_page_sends_anonymous_people_to_log_in(db, client) -> None:  # noqa: ANN001
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert "/login/" in response["Location"] or "login" in response["Location"]
