"""A merchant who forgot the password gets back in, in the browser: the link on the
log-in page, the e-mail (read from Django's test outbox), the link in it, a new
password, and a log-in with it. Also on a phone."""

from __future__ import annotations

import re

import pytest
from django.core import mail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Receipt-roll-57mm-x2"


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_merchant_resets_a_forgotten_password_and_logs_in(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
    live_server,  # noqa: ANN001
    settings,  # noqa: ANN001
    phone: bool,
) -> None:
    settings.SITE_URL = live_server.url  # the e-mail's link leads back to this server
    merchant = open_session(phone=phone)
    page = merchant.page

    merchant.go("/accounts/login/")
    merchant.click("link", re.compile("forgot your password", re.I))
    page.get_by_label(re.compile("e-?mail", re.I)).fill("alice@example.com")
    merchant.click("button", re.compile("send me the link", re.I))
    assert "Check your e-mail" in merchant.text()

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)

    merchant.go(link.removeprefix(live_server.url))
    page.get_by_label(re.compile(r"new password(?! confirmation)", re.I)).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"new password confirmation", re.I)).fill(NEW_PASSWORD)
    merchant.click("button", re.compile("set my password", re.I))
    assert "Your new password is set" in merchant.text()

    merchant.click("link", re.compile("^log in$", re.I))
    merchant.log_in("alice", NEW_PASSWORD)
    assert "/accounts/" not in page.url
    merchant.screenshot(f"password-reset-{'phone' if phone else 'desktop'}")

    # The link worked once: opened again, it says so and offers a new one.
    merchant.go(link.removeprefix(live_server.url))
    assert "This link no longer works" in merchant.text()
