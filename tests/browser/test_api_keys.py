"""Browser journey (Playwright, tests/browser's watch): a shop on a phone creates an API key
from its menu, copies it once, and a provider's manager reads the API's documentation
page, served under the site's CSP (its start-up script carries the nonce)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from devices.models import Membership
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_shop_creates_a_key_on_a_phone_and_uses_it(world, open_session) -> None:  # noqa: ANN001
    shop = open_session(phone=True)
    shop.log_in("alice", PASSWORD)
    shop.nav("API keys")
    shop.page.get_by_label("Name").fill("Till sync")
    shop.page.get_by_label("Read and write").check()
    shop.click("button", "Create key")
    token = shop.page.locator("#new-key").inner_text().strip()
    assert token.startswith("pd_")
    shop.go("/api/keys/")  # shown once: never again
    assert token not in shop.text()
    assert "Till sync" in shop.text()
    shop.screenshot("api-keys-phone")
    request = urllib.request.Request(  # noqa: S310 - the live server
        shop.base_url + "/api/v1/terminals/",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the live server
        results = json.load(response)["results"]
    assert [t["id"] for t in results] == [world.device_a.pk]


def test_the_docs_page_works_under_the_csp(world, open_session) -> None:  # noqa: ANN001
    Membership.objects.filter(user=world.xavier).update(manager=True)
    manager = open_session()
    manager.log_in("xavier", PASSWORD)
    manager.page.goto(manager.base_url + "/api/docs/")
    manager.page.wait_for_selector(".opblock")
    # Swagger UI's own markup is the sidecar's, not ours: checked for errors, CSP
    # violations and failed requests (the schema's fetch among them), not by axe.
    manager.watch.check(manager.page)
    paths = manager.page.locator(".opblock-summary-path").all_inner_texts()
    assert any(re.fullmatch(r"/api/v1/tickets/\{reference\}/claim/", p.strip()) for p in paths)
    manager.screenshot("api-docs")
