"""/accounts/password/reset/: a link by e-mail, built from SITE_URL; the same answer for
any address; limited per address; and the set-password link an admin sends."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

RESET = reverse("password_reset")
SITE = "https://posdesk.example.com"
NEW_PASSWORD = "Printer-jam-at-till-2"


@pytest.fixture(autouse=True)
def _site_url(settings) -> None:  # noqa: ANN001
    settings.SITE_URL = SITE


def logs_in(username: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302


def link_in(message: mail.EmailMessage) -> str:
    found = re.search(r"https?://\S+/accounts/password/reset/\S+/\S+/", message.body)
    assert found, message.body
    return found.group(0)


def test_the_log_in_page_links_to_the_reset(client: Client) -> None:
    page = client.get(reverse("login"))
    assert f'href="{RESET}"' in page.text
    assert "Forgot your password?" in page.text


def test_a_known_address_gets_a_link_built_from_site_url(world, client: Client) -> None:  # noqa: ANN001
    # The Host header is the request's, and could be forged: the link never uses it.
    response = client.post(RESET, {"email": "alice@example.com"}, HTTP_HOST="localhost")

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert link_in(message).startswith(f"{SITE}/accounts/password/reset/")
    assert "localhost" not in message.body
    assert "alice" in message.body  # the user name, for someone who forgot that too
    html = message.alternatives[0][0]
    assert f'href="{link_in(message)}"' in html


def test_an_unknown_address_gets_the_same_answer_and_no_e_mail(client: Client, world) -> None:  # noqa: ANN001
    known = client.post(RESET, {"email": "alice@example.com"})
    unknown = client.post(RESET, {"email": "nobody@example.com"})
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert len(mail.outbox) == 1
    done = client.get(unknown.url)
    assert "If a PosDesk account has this address" in done.text


def test_an_inactive_user_gets_no_link(world, client: Client) -> None:  # noqa: ANN001
    User.objects.filter(pk=world.alice.pk).update(is_active=False)
    client.post(RESET, {"email": "alice@example.com"})
    assert mail.outbox == []


def test_reset_e_mails_to_one_address_are_limited(world, client: Client, settings) -> None:  # noqa: ANN001
    settings.RATE_LIMIT_PASSWORD_RESET = (2, 3600)
    answers = [client.post(RESET, {"email": "alice@example.com"}).url for _ in range(4)]
    assert set(answers) == {reverse("password_reset_done")}
    assert len(mail.outbox) == 2


def test_the_link_sets_a_new_password_once(world, client: Client) -> None:  # noqa: ANN001
    client.post(RESET, {"email": "alice@example.com"})
    path = link_in(mail.outbox[0]).removeprefix(SITE)

    form_page = client.get(path, follow=True)  # Django hides the token behind a redirect
    assert "Choose a new password" in form_page.text
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.url == reverse("password_reset_complete")

    assert logs_in("alice", NEW_PASSWORD)
    again = Client().get(path, follow=True)
    assert "This link no longer works" in again.text


def test_the_reset_speaks_chinese(world, client: Client) -> None:  # noqa: ANN001
    page = client.get(RESET, headers={"accept-language": "zh-hans"})
    assert "忘记密码" in page.text
    client.post(RESET, {"email": "alice@example.com"}, headers={"accept-language": "zh-hans"})
    assert "PosDesk" in mail.outbox[0].subject
    assert "新密码" in mail.outbox[0].subject


def test_the_e_mail_is_in_the_users_own_language(world, client: Client) -> None:  # noqa: ANN001
    User.objects.filter(pk=world.alice.pk).update(language="zh-hans")
    client.post(RESET, {"email": "alice@example.com"}, headers={"accept-language": "en"})
    assert "新密码" in mail.outbox[0].subject


def test_a_new_password_lets_the_locked_browser_back_in(world, settings) -> None:  # noqa: ANN001
    browser = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        browser.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert (
        browser.post(reverse("login"), {"username": "alice", "password": PASSWORD}).status_code
        == 429
    )

    browser.post(RESET, {"email": "alice@example.com"})
    set_url = browser.get(link_in(mail.outbox[0]).removeprefix(SITE), follow=True).redirect_chain[
        -1
    ][0]
    browser.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = browser.post(reverse("login"), {"username": "alice", "password": NEW_PASSWORD})
    assert response.status_code == 302


# The admin sends a set-password link ------------------------------------------------------------


def test_an_admin_creates_a_user_who_chooses_their_own_password(
    world,  # noqa: ANN001
    as_user,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    client = as_user(world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:portal_user_add"),
            {
                "username": "newtech",
                "email": "newtech@example.com",
                "send_set_password_link": "on",
                "usable_password": "true",
                "password1": "",
                "password2": "",
                "membership-TOTAL_FORMS": "0",
                "membership-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newtech")
    assert not user.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["newtech@example.com"]
    assert "newtech" in message.body
    assert "Choose your password" in message.alternatives[0][0]

    browser = Client()
    set_url = browser.get(link_in(message).removeprefix(SITE), follow=True).redirect_chain[-1][0]
    browser.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert logs_in("newtech", NEW_PASSWORD)


def test_the_link_needs_an_address(world, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).post(
        reverse("admin:portal_user_add"),
        {
            "username": "noaddress",
            "send_set_password_link": "on",
            "usable_password": "true",
            "membership-TOTAL_FORMS": "0",
            "membership-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]
    assert not User.objects.filter(username="noaddress").exists()


def test_typing_a_password_still_works_and_sends_nothing(world, as_user) -> None:  # noqa: ANN001
    response = as_user(world.admin).post(
        reverse("admin:portal_user_add"),
        {
            "username": "typed",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "membership-TOTAL_FORMS": "0",
            "membership-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert logs_in("typed", NEW_PASSWORD)
    assert mail.outbox == []


def test_the_admin_action_sends_links_to_the_selected_users(world, as_user) -> None:  # noqa: ANN001
    nomail = UserFactory(username="nomail", email="")
    response = as_user(world.admin).post(
        reverse("admin:portal_user_changelist"),
        {"action": "send_set_password_links", ACTION_CHECKBOX_NAME: [world.bob.pk, nomail.pk]},
        follow=True,
    )
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "was sent to 1 user" in response.text
    assert "1 user has no e-mail address or is inactive" in response.text


def test_only_staff_can_send_links(world, as_user) -> None:  # noqa: ANN001
    response = as_user(world.xavier).post(
        reverse("admin:portal_user_changelist"),
        {"action": "send_set_password_links", ACTION_CHECKBOX_NAME: [world.bob.pk]},
    )
    assert response.status_code == 302  # to the admin's log-in page
    assert mail.outbox == []
