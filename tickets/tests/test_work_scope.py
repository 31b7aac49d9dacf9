"""Scope: another provider's technician, a merchant, staff: 404 on every workspace page and
action of provider X's ticket, GET or crafted POST, and the ticket is left untouched."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import World
from tests.factories import queued_ticket
from tickets.models import Queue, Ticket
from tickets.urls import urlpatterns

# Every workspace URL that names a ticket, read from the URL conf: a new action is covered
# without editing this test.
TICKET_URLS = sorted(
    p.name for p in urlpatterns if str(p.pattern).startswith("work/tickets/<ref:reference>/")
)


def crafted_post(world: World, ticket: Ticket) -> dict[str, object]:
    """Data that would pass every action form, so only scope can refuse it."""
    return {
        "assign-assignee": world.yuri.pk,
        "reply-body": "x",
        "note-body": "x",
        "ask-body": "x",
        "quote-amount": "10",
        "quote-covers": "x",
        "transfer-queue": Queue.objects.get(provider=world.provider_y, kind="triage").pk,
        "transfer-reason": "x",
        "loaner-serial": "LN",
        "resolve-code": Ticket.Resolution.REMOTE_FIX,
        "resolve-note": "x",
        "wverify-warranty_end": "2030-01-01",
        "wverify-source": "proof",
        "wreject-reason": "x",
        "duplicate-original": ticket.reference,
    }


# Pages read with GET; every other ticket URL is a POST-only action.
GET_URLS = {"work_ticket", "work_proof"}


def test_the_workspace_has_two_pages_and_thirteen_actions_per_ticket() -> None:
    assert len(TICKET_URLS) == 15


@pytest.mark.parametrize("who", ["yuri", "alice", "bob", "admin"])
@pytest.mark.parametrize("name", TICKET_URLS)
def test_outsiders_get_404_on_every_ticket_url(world: World, as_user, who: str, name: str) -> None:  # noqa: ANN001
    # Billable, unassigned, a loaner out: in scope, every action would go through.
    ticket = queued_ticket(
        world.device_a,
        reporter=world.alice,
        billable=True,
        loaner_serial="LN-1",
        loaner_issued_at=timezone.now(),
    )
    before = (ticket.status, ticket.queue_id, ticket.assigned_to_id, ticket.events.count())
    client = as_user(getattr(world, who))
    url = reverse(f"tickets:{name}", args=[ticket.reference])

    if name in GET_URLS:
        assert client.get(url).status_code == 404
    else:
        assert client.post(url, crafted_post(world, ticket)).status_code == 404

    ticket.refresh_from_db()
    after = (ticket.status, ticket.queue_id, ticket.assigned_to_id, ticket.events.count())
    assert after == before


@pytest.mark.parametrize("name", TICKET_URLS)
def test_a_reference_that_does_not_exist_is_404(world: World, as_user, name: str) -> None:  # noqa: ANN001
    url = reverse(f"tickets:{name}", args=["PD-999999"])
    client = as_user(world.xavier)
    response = client.get(url) if name in GET_URLS else client.post(url)
    assert response.status_code == 404


@pytest.mark.parametrize("name", TICKET_URLS)
def test_anonymous_users_are_sent_to_log_in(world: World, client, name: str) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    url = reverse(f"tickets:{name}", args=[ticket.reference])
    response = client.get(url) if name in GET_URLS else client.post(url)
    assert response.status_code == 302
    assert reverse("login") in response.url


def test_the_owning_technicians_reach_every_page(world: World, as_user) -> None:  # noqa: ANN001
    ticket = queued_ticket(world.device_a)
    url = reverse("tickets:work_ticket", args=[ticket.reference])
    assert as_user(world.xavier).get(url).status_code == 200
    assert as_user(world.xena).get(url).status_code == 200


@pytest.mark.parametrize("name", [n for n in TICKET_URLS if n not in GET_URLS])
def test_the_same_crafted_post_reaches_the_action_for_the_owning_provider(
    world: World,
    as_user,  # noqa: ANN001
    name: str,
) -> None:
    ticket = queued_ticket(
        world.device_a, billable=True, loaner_serial="LN-1", loaner_issued_at=timezone.now()
    )
    response = as_user(world.xavier).post(
        reverse(f"tickets:{name}", args=[ticket.reference]), crafted_post(world, ticket)
    )
    # A redirect (done or refused with a message) or the page with a form error: never 404.
    assert response.status_code in (200, 302)
