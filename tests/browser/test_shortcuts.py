"""A technician works three tickets from the keyboard (issue 14, items 4 and 6): from the
queue list, j and Enter open the first; c claims it, r opens the reply and a canned
reply fills it in; j goes to the next ticket of the list, n writes a note there; j again,
? shows the shortcuts, c claims the third. The pages work without the script too (every
other journey clicks)."""

from __future__ import annotations

import pytest

from devices.models import Membership
from tests.factories import PASSWORD, queued_ticket
from tickets.models import CannedReply, Ticket, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def press_and_follow(technician, key: str) -> None:  # noqa: ANN001
    """A key that loads another page (a link followed, a form sent)."""
    with technician.page.expect_navigation():
        technician.page.keyboard.press(key)
    technician.settle()


def test_three_tickets_with_shortcuts_and_a_canned_reply(world, open_session) -> None:  # noqa: ANN001
    tickets = [queued_ticket(world.device_a, reporter=world.alice) for _ in range(3)]
    queue = tickets[0].queue
    Membership.objects.filter(user=world.xavier).update(manager=True)
    CannedReply.objects.create(
        provider=world.provider_x,
        title="Restart first",
        body="Hello {merchant}, please restart the terminal ({reference}).",
    )

    technician = open_session()
    technician.log_in("xavier", PASSWORD)
    technician.nav("My work")
    technician.click("link", queue.name)
    page = technician.page
    order = [link.inner_text() for link in page.locator("tr.work-row td a.fw-semibold").all()]
    assert sorted(order) == sorted(t.reference for t in tickets)
    first, second, third = (Ticket.objects.get(reference=ref) for ref in order)

    page.keyboard.press("j")
    press_and_follow(technician, "Enter")
    assert page.url.endswith(f"/work/tickets/{first.reference}/")
    press_and_follow(technician, "c")
    page.keyboard.press("r")
    assert page.locator("#action-reply").get_attribute("open") is not None
    page.locator("#action-reply").get_by_role("button", name="Insert").click()
    technician.settle()
    body = page.locator("#action-reply textarea")
    assert body.input_value() == (f"Hello Shop A, please restart the terminal ({first.reference}).")
    page.locator("#action-reply").get_by_role("button", name="Send reply").click()
    technician.settle()

    press_and_follow(technician, "j")
    assert page.url.endswith(f"/work/tickets/{second.reference}/")
    page.keyboard.press("n")
    page.keyboard.type("Host logs show a timeout.")
    page.locator("#action-note").get_by_role("button", name="Add note").click()
    technician.settle()

    press_and_follow(technician, "j")
    assert page.url.endswith(f"/work/tickets/{third.reference}/")
    page.keyboard.press("?")
    assert page.locator("#shortcuts-help").is_visible()
    assert "Next or previous ticket" in page.locator("#shortcuts-help").inner_text()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts-help").is_visible()
    press_and_follow(technician, "c")

    for ticket in (first, second, third):
        ticket.refresh_from_db()
    assert first.assigned_to == third.assigned_to == world.xavier
    reply = first.events.get(kind=TicketEvent.Kind.REPLY)
    assert reply.body == f"Hello Shop A, please restart the terminal ({first.reference})."
    assert second.events.get(kind=TicketEvent.Kind.NOTE).body == "Host logs show a timeout."
