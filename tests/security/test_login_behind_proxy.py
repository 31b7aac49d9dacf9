"""Lock-out behind a reverse proxy cannot be turned against a user.

Every request arrives from the proxy's address (REMOTE_ADDR); the proxy appends the
client's own address to X-Forwarded-For. With TRUSTED_PROXY_COUNT=1 axes locks the
pair (user name, client address), so a stranger failing from elsewhere locks only
themselves, and whatever a client writes into the header itself is not believed. A user
name failing from many addresses is slowed down (portal.login_slowdown), never locked,
and a browser that has logged in as that user before is not slowed at all.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.test import Client

from portal import login_slowdown
from portal.clientip import client_ip
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
PROXY = "10.0.0.2"  # the TLS proxy in front of gunicorn
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings) -> None:  # noqa: ANN001
    settings.TRUSTED_PROXY_COUNT = 1


def through_proxy(client_address: str, sent_by_client: str = "") -> Client:
    """A browser at `client_address` behind the proxy (which appends what it saw)."""
    forwarded = f"{sent_by_client}, {client_address}" if sent_by_client else client_address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def attempt(client: Client, username: str, password: str, url: str = LOGIN) -> int:
    return client.post(url, {"username": username, "password": password}).status_code


def lock_out(client: Client, username: str) -> list[int]:
    return [
        attempt(client, username, "wrong-guess") for _ in range(django_settings.AXES_FAILURE_LIMIT)
    ]


# The client's address -------------------------------------------------------------------------


def test_the_client_address_is_the_one_the_trusted_proxy_saw(rf, settings) -> None:  # noqa: ANN001
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == PROXY  # no proxy configured: the header is not believed
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == ATTACKER  # "1.2.3.4" was written by the client itself
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "1.2.3.4"  # a CDN in front of the proxy wrote it


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", PROXY),  # not through the proxy
        ("not-an-address", PROXY),
        (f"{ATTACKER}:51234", ATTACKER),
        ("[2001:db8::7]:443", "2001:db8::7"),
        ("2001:db8::7", "2001:db8::7"),
    ],
)
def test_odd_forwarded_headers(rf, settings, header: str, expected: str) -> None:  # noqa: ANN001
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=header)
    assert client_ip(request) == expected


# Lock-out by user name and client address --------------------------------------------------


def test_a_stranger_locks_only_their_own_address_not_the_admin(world, behind_proxy) -> None:  # noqa: ANN001
    statuses = lock_out(through_proxy(ATTACKER), "admin")
    assert statuses[-1] == 429
    assert attempt(through_proxy(ATTACKER), "admin", PASSWORD) == 429

    victim = through_proxy(VICTIM)
    assert attempt(victim, "admin", PASSWORD) == 302
    assert victim.session["_auth_user_id"] == str(world.admin.pk)


def test_writing_the_victims_address_into_the_header_does_not_lock_the_victim(
    world,  # noqa: ANN001
    behind_proxy: None,
) -> None:
    lock_out(through_proxy(ATTACKER, sent_by_client=VICTIM), "admin")
    assert attempt(through_proxy(VICTIM), "admin", PASSWORD) == 302


def test_the_admin_sites_log_in_is_locked_the_same_way(world, behind_proxy) -> None:  # noqa: ANN001
    attacker = through_proxy(ATTACKER)
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        attempt(attacker, "admin", "wrong-guess", "/admin/login/")
    assert attempt(attacker, "admin", PASSWORD, "/admin/login/") == 429
    assert attempt(through_proxy(VICTIM), "admin", PASSWORD, "/admin/login/") == 302


# The user name alone: slowed down, never locked -------------------------------------------------


@pytest.fixture
def slow_after_3(settings, monkeypatch):  # noqa: ANN001, ANN201
    """Slowdown after 3 failures, and a clock the test moves."""
    settings.LOGIN_SLOWDOWN_AFTER = 3
    settings.LOGIN_SLOWDOWN_MAX_SECONDS = 60
    clock = SimpleNamespace(now=1_000_000.0)
    monkeypatch.setattr(login_slowdown, "time", SimpleNamespace(time=lambda: clock.now))
    return clock


def fail_from_many_addresses(username: str, count: int) -> None:
    for n in range(count):
        assert attempt(through_proxy(f"203.0.113.{n + 1}"), username, "wrong-guess") == 200


def test_many_addresses_failing_slow_the_user_name_down(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    fail_from_many_addresses("alice", 3)

    response = through_proxy(VICTIM).post(LOGIN, {"username": "alice", "password": PASSWORD})

    # Too soon after the last failure: refused with the wait, the password not checked.
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert re.search(r"next attempt can be made in\s+1 second", response.text)
    assert "Forgot your password?" in response.text


def test_after_the_wait_the_right_password_gets_in(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    fail_from_many_addresses("alice", 3)
    slow_after_3.now += 1
    assert attempt(through_proxy(VICTIM), "alice", PASSWORD) == 302


def test_each_failure_doubles_the_wait_up_to_the_most(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    waits = []
    fail_from_many_addresses("alice", 3)
    for n in range(8):
        slow_after_3.now += 1000  # past any wait: this guess is checked, and fails
        assert attempt(through_proxy(f"192.0.2.{n + 1}"), "alice", "wrong-guess") == 200
        refused = through_proxy(VICTIM).post(LOGIN, {"username": "alice", "password": "x"})
        waits.append(int(refused["Retry-After"]))
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]


def test_one_guess_per_turn_however_many_arrive_at_once(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    fail_from_many_addresses("alice", 3)
    slow_after_3.now += 1
    request = SimpleNamespace(COOKIES={})
    # The first attempt after the wait has the turn; the ones arriving with it wait.
    assert login_slowdown.wait_for(request, "alice") == 0
    assert login_slowdown.wait_for(request, "alice") == 1


def test_a_browser_that_logged_in_before_is_not_slowed(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    own_browser = through_proxy(VICTIM)
    assert attempt(own_browser, "alice", PASSWORD) == 302
    own_browser.post("/accounts/logout/")

    fail_from_many_addresses("alice", 3)

    assert attempt(through_proxy("192.0.2.99"), "alice", PASSWORD) == 429
    assert attempt(own_browser, "alice", PASSWORD) == 302


def test_the_cookie_names_the_user_and_cannot_be_forged(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    bob_browser = through_proxy(VICTIM)
    assert attempt(bob_browser, "bob", PASSWORD) == 302
    fail_from_many_addresses("alice", 3)
    # Bob's browser is known for bob, not for alice.
    assert attempt(bob_browser, "alice", PASSWORD) == 429
    forged = through_proxy("192.0.2.50")
    forged.cookies[login_slowdown.COOKIE] = '["alice"]'
    assert attempt(forged, "alice", PASSWORD) == 429


def test_a_log_in_forgets_the_failures(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    fail_from_many_addresses("alice", 3)
    slow_after_3.now += 1
    assert attempt(through_proxy(VICTIM), "alice", PASSWORD) == 302
    assert attempt(through_proxy("192.0.2.8"), "alice", PASSWORD) == 302


def test_a_lock_out_refusal_is_not_counted_as_a_guess(world, behind_proxy, slow_after_3) -> None:  # noqa: ANN001
    # One address: axes locks it after AXES_FAILURE_LIMIT; its refused tries after that
    # never reached a password, and do not slow the user name down for everyone else.
    attacker = through_proxy(ATTACKER)
    for _ in range(django_settings.AXES_FAILURE_LIMIT + 10):
        attempt(attacker, "alice", "wrong-guess")
    slow_after_3.now += 1000
    assert attempt(through_proxy(VICTIM), "alice", PASSWORD) == 302
