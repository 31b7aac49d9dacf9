"""Each user reads PosDesk in their own language (issue 12): set from the browser at the
first log-in, changed from the menu's switch, kept whatever device they log in from."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from conftest import World
from portal.language import language_of
from tests.factories import PASSWORD

ZH = {"accept-language": "zh-CN,zh;q=0.9"}
EN = {"accept-language": "en-US,en;q=0.9"}


def _log_in(client: Client, username: str, headers: dict[str, str]) -> None:
    response = client.post(
        reverse("login"), {"username": username, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 302


def test_the_first_log_in_keeps_the_browsers_language(world: World) -> None:
    client = Client()
    _log_in(client, "alice", ZH)
    world.alice.refresh_from_db()
    assert world.alice.language == "zh-hans"
    # Later, from an English browser: still Chinese, the shop owner's own choice.
    other = Client()
    _log_in(other, "alice", EN)
    page = other.get(reverse("devices:list"), headers=EN).content.decode()
    assert "我的终端" in page
    world.alice.refresh_from_db()
    assert world.alice.language == "zh-hans"


def test_the_switch_changes_the_users_language(world: World, as_user) -> None:  # noqa: ANN001
    world.alice.language = "zh-hans"
    world.alice.save()
    client = as_user(world.alice)
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("devices:list")}, headers=ZH
    )
    assert response.status_code == 302
    assert response.url == reverse("devices:list")
    world.alice.refresh_from_db()
    assert world.alice.language == "en"
    page = client.get(reverse("devices:list"), headers=ZH).content.decode()
    assert "My terminals" in page


def test_an_unknown_language_is_ignored(world: World, as_user) -> None:  # noqa: ANN001
    client = as_user(world.alice)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    world.alice.refresh_from_db()
    assert world.alice.language == ""


def test_the_switch_is_on_every_page_also_before_log_in(client) -> None:  # noqa: ANN001
    page = client.get(reverse("login")).content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert 'lang="zh-hans"' in page


def test_a_user_without_a_language_follows_the_browser(world: World, as_user) -> None:  # noqa: ANN001
    page = as_user(world.alice).get(reverse("devices:list"), headers=ZH).content.decode()
    assert "我的终端" in page


def test_e_mails_use_the_recipients_language(world: World, settings) -> None:
    settings.LANGUAGE_CODE = "en"
    world.bob.language = "zh-hans"
    assert language_of(world.bob) == "zh-hans"
    assert language_of(world.alice) == "en"
