"""A technician on a phone searches a Chinese word from the top bar, without opening the
menu, finds the ticket among its provider's and opens it; then its own tickets."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD, queued_ticket
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_technician_searches_chinese_words_from_the_top_bar_on_a_phone(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    jam = queued_ticket(world.device_a, description="收银台的打印机卡纸，小票打不出来。")
    queued_ticket(world.device_a, description="屏幕不亮。")
    theirs = queued_ticket(world.device_b, description="打印机卡纸")
    mine = queued_ticket(world.device_a, status=Ticket.Status.IN_PROGRESS, assigned_to=world.xavier)

    technician = open_session(phone=True)
    technician.log_in("xavier", PASSWORD)
    box = technician.page.get_by_role("searchbox", name="Search")
    assert box.is_visible()  # in the bar itself, not behind the folded menu
    box.fill("卡纸")
    box.press("Enter")
    technician.settle()

    assert "1 ticket found" in technician.text()
    assert theirs.reference not in technician.text()
    technician.screenshot("search-phone")
    technician.click("link", jam.reference)
    assert technician.page.url.endswith(f"/work/tickets/{jam.reference}/")

    technician.nav("My tickets")
    assert mine.reference in technician.text()
    assert jam.reference not in technician.text()
