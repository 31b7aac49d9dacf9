"""The scope matrix: every URL that takes an id, as every role, on objects outside its scope.

The list of URLs is read from the resolver (tests/security/urlmap.py), so a new page
is checked without anyone editing this file. Outside one's scope is a 404, on GET
and on a crafted POST alike, and nothing in the database changes; a POST-only view
may answer a GET with 405, but then its POST must be the 404.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.security.conftest import Scenario, crafted_post, fingerprint
from tests.security.urlmap import PUBLIC, foreign_variants, kinds_for, own_url, project_urls

WITH_IDS = [url for url in project_urls() if url.kwargs]


def test_the_matrix_has_urls_to_check() -> None:
    # Guards the walk itself: if it found nothing, every test below would pass vacuously.
    names = {url.name for url in WITH_IDS}
    assert {"devices:detail", "tickets:detail"} <= names


@pytest.mark.parametrize("url", WITH_IDS, ids=str)
def test_every_url_keyword_has_a_recipe_for_a_foreign_object(url) -> None:  # noqa: ANN001
    kinds_for(url)  # raises UnknownKwarg naming the keyword and what to do


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["alice", "xavier", "bob_on_a", "yuri_on_x"])
@pytest.mark.parametrize("url", WITH_IDS, ids=str)
def test_it_answers_404_outside_the_users_scope(
    scenario: Scenario,
    url,  # noqa: ANN001
    role: str,
) -> None:
    world = scenario.world
    if role in {"alice", "xavier"}:
        user = getattr(world, role)
        own, foreign = scenario.side_a(), scenario.side_b()
    else:
        # The mirror image: B's merchant and Y's technician on A's and X's objects.
        user = world.bob if role == "bob_on_a" else world.yuri
        own, foreign = scenario.side_b(), scenario.side_a()
    client = _client(user)
    failures = []
    for label, kwargs in foreign_variants(url, own, foreign):
        path = reverse(url.name, kwargs=kwargs)
        before = fingerprint()
        get = client.get(path)
        post = client.post(path, crafted_post(scenario))
        after = fingerprint()
        ok = (
            get.status_code == 404
            and post.status_code in {404, 405}
            or get.status_code == 405
            and post.status_code == 404
        )
        if not ok:
            failures.append(f"{label}: GET {get.status_code}, POST {post.status_code} {path}")
        if before != after:
            changed = {k for k in before if before[k] != after[k]}
            failures.append(f"{label}: the database changed ({sorted(changed)}) {path}")
    assert not failures, f"{role} reached {url.name} outside their scope:\n" + "\n".join(failures)


@pytest.mark.parametrize("url", project_urls(), ids=str)
def test_anonymous_users_are_sent_to_log_in_or_refused(scenario: Scenario, url) -> None:  # noqa: ANN001
    path = own_url(url, scenario.side_a())
    client = Client()
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        if url.name in PUBLIC:
            assert response.status_code in {200, 302, 403, 405}, (method, response.status_code)
            continue
        if url.route.startswith(("/api/v1/", "/api/schema/")):
            # The REST API answers a caller without a key 401 (api/tests/test_scope_matrix.py).
            assert response.status_code == 401, (method, response.status_code)
            continue
        if response.status_code == 302:
            assert response["Location"].startswith(reverse(settings.LOGIN_URL)), (
                f"anonymous {method.upper()} {path} redirects to {response['Location']}"
            )
        else:
            assert response.status_code in {404, 405}, (
                f"anonymous {method.upper()} {path} answered {response.status_code}"
            )
    assert "_auth_user_id" not in client.session


def test_the_admin_sends_anonymous_users_to_its_log_in(db) -> None:  # noqa: ANN001
    response = Client().get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_refuses_merchants_and_technicians(scenario: Scenario) -> None:
    for user in (scenario.world.alice, scenario.world.xavier):
        response = _client(user).get(reverse("admin:index"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
