"""Log-in: no open redirect, a fresh session key, other sessions end with a password change."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from tests.factories import PASSWORD

LOGIN = "/accounts/login/"

OFF_SITE = [
    "https://evil.example/",
    "http://evil.example/steal",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    " https://evil.example/",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("next_url", OFF_SITE)
def test_a_next_parameter_never_sends_the_user_off_site(world, next_url: str) -> None:
    client = Client()
    response = client.post(
        f"{LOGIN}?next={next_url}",
        {"username": "alice", "password": PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location
    assert "evil.example" not in location
    assert "_auth_user_id" in client.session


def test_a_same_site_next_is_still_followed(world) -> None:
    client = Client()
    response = client.post(
        f"{LOGIN}?next=/tickets/", {"username": "alice", "password": PASSWORD, "next": "/tickets/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/tickets/"


def test_the_session_key_changes_at_log_in(world) -> None:
    client = Client()
    session = client.session  # an anonymous session, as an attacker could plant one
    session["planted"] = True
    session.save()
    planted_key = session.session_key
    client.cookies["sessionid"] = planted_key

    response = client.post(LOGIN, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 302
    new_key = client.cookies["sessionid"].value
    assert new_key != planted_key
    assert not Session.objects.filter(session_key=planted_key).exists()
    assert client.session["_auth_user_id"] == str(world.alice.pk)


def test_a_password_change_ends_the_users_other_sessions(world) -> None:
    laptop, phone = Client(), Client()
    for client in (laptop, phone):
        assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 302
    assert phone.get("/accounts/password/").status_code == 200

    response = laptop.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-longer-new-pw-42",
            "new_password2": "a-much-longer-new-pw-42",
        },
    )

    assert response.status_code == 302
    # The device that changed it stays logged in; the other one is sent to log in.
    assert laptop.get("/accounts/password/").status_code == 200
    response = phone.get("/accounts/password/")
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_pages_carry_a_strict_content_security_policy(world, as_user) -> None:
    for client, path in ((Client(), LOGIN), (as_user(world.alice), "/accounts/password/")):
        response = client.get(path)
        assert response.status_code == 200
        policy = response["Content-Security-Policy"]
        directives = dict(
            (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
        )
        assert directives["default-src"] == ["'self'"]
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-eval'" not in directives["script-src"]
        assert "'unsafe-inline'" not in directives.get("style-src", [])
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("next_url", OFF_SITE[:4])
def test_log_out_never_sends_the_user_off_site(world, as_user, next_url: str) -> None:
    client = as_user(world.alice)
    response = client.post(f"/accounts/logout/?next={next_url}", {"next": next_url})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"].startswith("/")
    assert "_auth_user_id" not in client.session
