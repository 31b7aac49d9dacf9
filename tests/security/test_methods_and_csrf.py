"""State changes: POST only (a GET is a 405 and writes nothing), and never without a CSRF token.

`POST_ONLY` is the explicit list of actions. It is checked against the resolver both
ways: every listed name must exist and answer 405 to GET, and any URL that answers
405 to GET must be listed, so the list cannot go stale silently.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import Scenario, crafted_post, fingerprint
from tests.security.urlmap import own_url, project_urls

POST_ONLY = {
    "logout",
    "set_language",
    # Merchant actions on a ticket.
    "tickets:reply",
    "tickets:cancel",
    "tickets:quote_accept",
    "tickets:quote_decline",
    "tickets:confirm",
    "tickets:reopen",
    "tickets:rate",
    "tickets:add_proof",
    # The merchant's side of an outage (outages/views_merchant.py).
    "outages:me_too",
    "outages:payments_back",
    # The technician's actions on an incident (outages/views_work.py).
    "outages:work_incident_confirm",
    "outages:work_incident_update",
    "outages:work_incident_resolve",
    # Repair logistics (repairs/views.py): the technician's steps, then the shop's.
    "repairs:work_start_visit",
    "repairs:work_start_send_in",
    "repairs:work_start_swap",
    "repairs:work_propose",
    "repairs:work_accept_counter",
    "repairs:work_visited",
    "repairs:work_received",
    "repairs:work_repaired",
    "repairs:work_ship_back",
    "repairs:work_delivered",
    "repairs:work_old_returned",
    "repairs:confirm",
    "repairs:counter",
    "repairs:delivered",
    # Technician actions on a ticket (tickets/views/work.py).
    "tickets:work_claim",
    "tickets:work_assign",
    "tickets:work_reply",
    "tickets:work_note",
    "tickets:work_ask",
    "tickets:work_quote",
    "tickets:work_transfer",
    "tickets:work_duty",
    "tickets:canned_delete",
    "tickets:saved_view_new",
    "tickets:saved_view_delete",
    "tickets:work_loaner_issue",
    "tickets:work_loaner_return",
    "tickets:work_resolve",
    "tickets:work_warranty_verify",
    "tickets:work_warranty_reject",
    "tickets:work_resolve_duplicate",
    # Bulk actions on the selected tickets of a list (tickets/views/bulk.py).
    "tickets:work_bulk",
    # The provider's warranty record of a terminal (devices/views_work.py).
    "terminals:warranty",
    # Applying a checked warranty register upload (devices/views_register.py).
    "terminals:register_confirm",
    # A provider's webhooks (webhooks/views.py) and raw mail in (mail/views.py).
    "webhooks:rotate",
    "webhooks:delete",
    "webhooks:redeliver",
    "mail:inbound",
    # The REST API (issue 16): revoking a key, bulk registration, the ticket actions.
    "api:key_revoke",
    "api:terminal_bulk",
    *(
        f"api:ticket_{name}"
        for name in (
            "reply",
            "claim",
            "note",
            "ask",
            "quote",
            "transfer",
            "resolve",
            "quote_accept",
            "quote_decline",
            "confirm",
            "reopen",
            "rate",
        )
    ),
}

URLS = project_urls()
# Server-to-server endpoints with their own shared secret instead of a session (no
# cookie, so nothing to forge): refused without it (mail/tests/test_inbound.py).
SECRET_HEADER_URLS = {"mail:inbound"}
ROLES = ("alice", "xavier", "admin")


def _client(user, **kwargs) -> Client:  # noqa: ANN001
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def test_every_post_only_name_exists() -> None:
    names = {url.name for url in URLS}
    assert not POST_ONLY - names, f"POST_ONLY names no URL has: {sorted(POST_ONLY - names)}"


@pytest.mark.parametrize("url", URLS, ids=str)
def test_a_get_changes_nothing_and_only_listed_actions_refuse_it(
    scenario: Scenario,
    url,  # noqa: ANN001
) -> None:
    world = scenario.world
    statuses = {}
    for role in ROLES:
        user = getattr(world, role)
        path = own_url(url, scenario.side_a())
        before = fingerprint()
        statuses[role] = _client(user).get(path).status_code
        assert fingerprint() == before, f"GET {path} as {role} changed the database"
    if url.name in POST_ONLY:
        assert 405 in statuses.values(), f"{url.name} is an action but GET gives {statuses}"
        assert set(statuses.values()) <= {404, 405}, f"{url.name}: GET gives {statuses}"
    else:
        assert 405 not in statuses.values(), (
            f"{url.name} refuses GET ({statuses}): add it to POST_ONLY if it is an action"
        )


@pytest.mark.parametrize("url", URLS, ids=str)
def test_a_post_without_a_csrf_token_is_refused(scenario: Scenario, url) -> None:  # noqa: ANN001
    world = scenario.world
    for role in (None, *ROLES):
        user = getattr(world, role) if role else None
        path = own_url(url, scenario.side_a())
        client = _client(user, enforce_csrf_checks=True)
        before = fingerprint()
        response = client.post(path, crafted_post(scenario))
        if url.name in SECRET_HEADER_URLS:
            assert response.status_code in {403, 404}, f"POST {path} without its secret"
            assert fingerprint() == before
            continue
        if role is None and url.route.startswith(("/api/v1/", "/api/schema/", "/api/docs/")):
            # The REST API: no session, no key, no entry (401; the docs page, GET only,
            # answers a POST 405); a session needs the token.
            assert response.status_code in {401, 405}, f"POST {path} anonymously: {response}"
            continue
        assert response.status_code == 403, f"POST {path} as {role} without a token: {response}"
        # A token that is not the one paired with the cookie is no better than none.
        client.get(reverse("login"))
        response = client.post(path, {**crafted_post(scenario), "csrfmiddlewaretoken": "x" * 64})
        assert response.status_code == 403, f"POST {path} as {role} with a forged token"
        assert fingerprint() == before


def test_a_correct_csrf_token_is_accepted(scenario: Scenario) -> None:
    # The refusal above must come from the missing token, not from a broken form.
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    response = client.post(
        reverse("login"),
        {
            "username": "alice",
            "password": "posdesk-test-pw",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    assert response.status_code == 302
