"""API keys: created by merchants and provider managers, shown once, stored hashed, read
or write, revoked for good."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiKey
from devices.models import Membership
from tests.security.conftest import fingerprint


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _create(client, name: str = "CRM sync", scope: str = "write") -> str:  # noqa: ANN001
    response = client.post(reverse("api:keys"), {"name": name, "scope": scope})
    assert response.status_code == 200
    return response.context["token"]


def test_a_merchant_creates_a_key_shown_once_and_stored_hashed(scenario, client) -> None:  # noqa: ANN001
    client.force_login(scenario.world.alice)
    token = _create(client)
    assert token.startswith("pd_")
    key = ApiKey.objects.get(user=scenario.world.alice)
    assert key.name == "CRM sync"
    assert key.scope == "write"
    secret = token.split("_", 2)[2]
    assert key.hashed_secret == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    # Shown once: the page afterwards lists the key by its prefix, never the token.
    page = client.get(reverse("api:keys")).content.decode()
    assert token not in page
    assert f"pd_{key.prefix}" in page
    assert _bearer(token).get("/api/v1/tickets/").status_code == 200


def test_a_provider_manager_creates_keys_a_plain_technician_cannot(scenario, client) -> None:  # noqa: ANN001
    world = scenario.world
    client.force_login(world.xavier)  # a manager in the scenario
    assert client.get(reverse("api:keys")).status_code == 200
    client.force_login(world.xena)
    assert not Membership.objects.get(user=world.xena).manager
    assert client.get(reverse("api:keys")).status_code == 404
    assert client.post(reverse("api:keys"), {"name": "x", "scope": "read"}).status_code == 404
    client.force_login(world.admin)
    assert client.get(reverse("api:keys")).status_code == 404
    assert not ApiKey.objects.exists()


def test_the_menu_links_the_key_page(scenario, client) -> None:  # noqa: ANN001
    client.force_login(scenario.world.alice)
    assert reverse("api:keys") in client.get(reverse("tickets:list")).content.decode()
    client.force_login(scenario.world.xena)
    assert reverse("api:keys") not in client.get(reverse("tickets:work")).content.decode()


def test_a_read_key_never_writes(scenario) -> None:  # noqa: ANN001
    world = scenario.world
    _key, token = ApiKey.issue(user=world.xavier, name="read", scope=ApiKey.Scope.READ)
    client = _bearer(token)
    reference = scenario.ticket_a.reference
    assert client.get(f"/api/v1/tickets/{reference}/").status_code == 200
    before = fingerprint()
    response = client.post(f"/api/v1/tickets/{reference}/claim/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "only read" in response.json()["detail"]
    assert client.post(f"/api/v1/tickets/{reference}/note/", {"body": "x"}).status_code == 403
    assert fingerprint() == before


def test_a_revoked_key_is_refused(scenario, client) -> None:  # noqa: ANN001
    client.force_login(scenario.world.alice)
    token = _create(client)
    key = ApiKey.objects.get()
    response = client.post(reverse("api:key_revoke"), {"key": key.pk})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    response = _bearer(token).get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json()["detail"] == "This API key is unknown or revoked."


def test_nobody_revokes_another_persons_key(scenario, client) -> None:  # noqa: ANN001
    key, _token = ApiKey.issue(user=scenario.world.alice, name="a", scope="read")
    client.force_login(scenario.world.bob)
    assert client.post(reverse("api:key_revoke"), {"key": key.pk}).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize(
    "header",
    ["Bearer pd_nope_nope", "Bearer nonsense", "Bearer", "Bearer a b"],
)
def test_a_forged_key_is_refused(scenario, header: str) -> None:  # noqa: ANN001
    key, token = ApiKey.issue(user=scenario.world.alice, name="a", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/tickets/").status_code == 401
    # The right prefix with another secret is refused too.
    client.credentials(HTTP_AUTHORIZATION=f"Bearer pd_{key.prefix}_{'x' * 43}")
    assert client.get("/api/v1/tickets/").status_code == 401


def test_a_key_of_someone_deactivated_or_moved_loses_its_reach(scenario) -> None:  # noqa: ANN001
    world = scenario.world
    _key, token = ApiKey.issue(user=world.alice, name="a", scope="read")
    Membership.objects.filter(user=world.alice).update(merchant=world.merchant_b)
    response = _bearer(token).get(f"/api/v1/tickets/{scenario.ticket_a.reference}/")
    assert response.status_code == 404
    type(world.alice).objects.filter(pk=world.alice.pk).update(is_active=False)
    assert _bearer(token).get("/api/v1/tickets/").status_code == 401


def test_use_is_recorded(scenario) -> None:  # noqa: ANN001
    key, token = ApiKey.issue(user=scenario.world.alice, name="a", scope="read")
    assert key.last_used_at is None
    _bearer(token).get("/api/v1/tickets/")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_the_browsers_session_works_with_its_csrf_token(scenario) -> None:  # noqa: ANN001
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(scenario.world.xavier)
    path = f"/api/v1/tickets/{scenario.ticket_a.reference}/note/"
    assert client.get(f"/api/v1/tickets/{scenario.ticket_a.reference}/").status_code == 200
    refused = client.post(path, {"body": "From the page"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    client.get(reverse("api:keys"))  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        path, {"body": "From the page"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200
    assert scenario.ticket_a.events.filter(kind="note", body="From the page").exists()


def test_the_key_page_pages_a_long_list(scenario, client) -> None:  # noqa: ANN001
    for n in range(30):
        ApiKey.issue(user=scenario.world.alice, name=f"key {n:02d}", scope="read")
    client.force_login(scenario.world.alice)
    first = client.get(reverse("api:keys")).content.decode()
    assert "key 29" in first
    assert "key 00" not in first
    second = client.get(reverse("api:keys"), {"page": 2}).content.decode()
    assert "key 00" in second
