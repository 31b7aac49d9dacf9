"""Log-in throttling (django-axes): after the failure limit even the right password is refused.

Checked one attempt after another through Django's test client, and with the
failures arriving at once over real HTTP against the live server, where a lost
update in the failure counter would let an attacker past the limit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, MerchantFactory, UserFactory, member_of
from tests.webclient import WebClient

LOGIN = "/accounts/login/"


def attempt(client: Client, username: str, password: str) -> int:
    return client.post(LOGIN, {"username": username, "password": password}).status_code


def test_the_right_password_is_refused_after_the_failure_limit(world) -> None:
    client = Client()
    statuses = [attempt(client, "alice", "wrong-guess") for _ in range(settings.AXES_FAILURE_LIMIT)]
    # The form again with an error, until the failure that reaches the limit locks.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_failure_short_of_the_limit_still_lets_the_user_in(world) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "alice", "wrong-guess")

    assert attempt(client, "alice", PASSWORD) == 302
    assert client.session["_auth_user_id"] == str(world.alice.pk)


def test_a_lockout_is_per_user_and_address_not_everyone(world) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "alice", "wrong-guess")

    assert attempt(Client(), "bob", PASSWORD) == 302
    assert attempt(Client(REMOTE_ADDR="10.9.8.7"), "alice", PASSWORD) == 302


@pytest.mark.django_db(transaction=True)
def test_parallel_failures_over_http_still_lock_the_account(live_server) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        # The live server's threads share SQLite's one in-memory test connection, which
        # cannot take parallel writes; production and `make test` run PostgreSQL.
        pytest.skip("parallel log-ins need the PostgreSQL test database")
    member_of(UserFactory(username="carol"), merchant=MerchantFactory())
    limit = settings.AXES_FAILURE_LIMIT
    wrong_attempts = limit * 4

    first = WebClient(live_server.url)
    first.get(LOGIN)  # one CSRF cookie and token, shared by every parallel attempt
    token = first.cookie("csrftoken")

    def wrong(_: int) -> int:
        client = WebClient(live_server.url)
        client.cookies.set_cookie(next(iter(first.cookies)))
        return client.request(
            LOGIN, {"csrfmiddlewaretoken": token, "username": "carol", "password": "bad"}
        ).status

    with ThreadPoolExecutor(max_workers=wrong_attempts) as pool:
        statuses = list(pool.map(wrong, range(wrong_attempts)))

    # Every attempt was either a plain failure (the form again) or refused as locked.
    assert set(statuses) <= {200, 429}, statuses
    # No more than the limit are let through as ordinary failures before the lock holds.
    assert statuses.count(200) <= limit, statuses
    recorded = AccessAttempt.objects.get(username="carol")
    assert recorded.failures_since_start >= limit

    right = WebClient(live_server.url)
    response = right.post(LOGIN, {"username": "carol", "password": PASSWORD})
    assert response.status == 429
    assert right.cookie("sessionid") is None
