"""Bulk actions as a technician meets them (issue 14, item 3): on a phone, two tickets of a
queue are ticked and transferred at once to the provider's remote support queue; a third,
left unticked, stays. No JavaScript is needed: the checkboxes belong to the form below
the list through their `form` attribute."""

from __future__ import annotations

import re

import pytest

from tests.factories import PASSWORD, queued_ticket
from tickets.models import Queue, TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
def test_a_technician_transfers_two_tickets_of_a_queue_at_once(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
    phone: bool,
) -> None:
    first, second, stays = (queued_ticket(world.device_a, reporter=world.alice) for _ in range(3))
    warranty = first.queue
    remote = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.REMOTE_SUPPORT)

    technician = open_session(phone=phone)
    technician.log_in("xavier", PASSWORD)
    technician.nav("My work")
    technician.click("link", warranty.name)
    page = technician.page
    for ticket in (first, second):
        page.get_by_role("checkbox", name=ticket.reference).check()

    bulk = page.locator("form#bulk")
    bulk.locator("summary", has_text="Transfer to another queue").click()
    transfer = bulk.locator("details[open]")
    transfer.get_by_label("To queue").select_option(label=f"Provider X · {remote.name}")
    transfer.get_by_label("Why").fill("Software faults: remote support takes them.")
    transfer.get_by_role("button", name="Transfer").click()
    technician.settle()

    assert page.url.endswith(f"/work/queues/{warranty.pk}/")
    text = technician.text()
    assert re.search(
        rf"Transfer to another queue: done for {first.reference}, {second.reference}\.", text
    )
    listed = page.locator("table").inner_text()
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.queue == remote
        event = ticket.events.get(kind=TicketEvent.Kind.TRANSFERRED)
        assert (event.actor, event.body) == (
            world.xavier,
            "Software faults: remote support takes them.",
        )
        # Gone from this queue's list, which still shows the one left unticked.
        assert ticket.reference not in listed
    stays.refresh_from_db()
    assert stays.queue == warranty
    assert stays.reference in listed
    technician.screenshot(f"bulk-transfer-{'phone' if phone else 'desktop'}")
