"""A shop owner in China, on a phone (issue 12): files a dead-screen fault from log-in in
at most 3 page loads and 10 taps or key entries, then decides a quote, confirms the fix
and rates it, every page in Chinese. Each page is checked by axe-core (conftest) and
must not scroll sideways at 390 px; screenshots go to test-output/."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.browser.conftest import Session
from tests.browser.test_journeys import filed_and_routed
from tests.factories import PASSWORD, DeviceFactory
from tickets import workflow
from tickets.models import Queue, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_PAGE_LOADS = 3
MAX_TAPS = 10


class Counted:
    """A person's taps and key entries on one tab (typing a text field counts as one)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.page = session.page
        self.taps = 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).first.click()
        self.taps += 1

    def type(self, selector: str, text: str) -> None:
        self.page.locator(selector).first.fill(text)
        self.taps += 1

    def choose(self, selector: str, value: str) -> None:
        self.page.locator(selector).first.select_option(value)
        self.taps += 1


def _lang(session: Session) -> str:
    return session.page.locator("html").get_attribute("lang")


def test_a_shop_files_a_dead_screen_in_chinese_within_3_page_loads_and_10_taps(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    merchant = open_session(phone=True, locale="zh-CN")
    merchant.go("/accounts/login/")
    assert _lang(merchant) == "zh-hans"
    loads_before = len(merchant.watch.pages)
    shop = Counted(merchant)

    shop.type("input[name=username]", "alice")
    shop.type("input[name=password]", PASSWORD)
    shop.tap("main form button[type=submit]")
    merchant.settle()
    assert _lang(merchant) == "zh-hans"
    shop.tap("#quick-report-section a[href*='category=hardware']")
    merchant.settle()
    shop.choose("select[name=symptom]", "screen")
    shop.tap("#reveal-details")
    shop.tap("input[name=can_take_payments][value=no]")
    shop.type("textarea[name=description]", "屏幕一直黑屏，重启也没用。")
    shop.tap("button[name=action][value=file]")
    merchant.settle()

    loads = len(merchant.watch.pages) - loads_before
    print(f"\nfiling in Chinese on a phone: {loads} page loads, {shop.taps} taps or entries")
    assert loads <= MAX_PAGE_LOADS, merchant.watch.pages[loads_before:]
    assert shop.taps <= MAX_TAPS
    ticket = Ticket.objects.get()
    assert ticket.symptom == "screen"
    assert ticket.can_take_payments == "no"
    assert f"/tickets/{ticket.reference}/" in merchant.page.url
    assert "保修" in merchant.text()  # who handles it and who pays, in Chinese
    merchant.screenshot("journey-zh-filed-phone")


def test_a_shop_decides_a_quote_confirms_and_rates_in_chinese_on_a_phone(
    world,  # noqa: ANN001
    open_session,  # noqa: ANN001
) -> None:
    device = DeviceFactory(
        merchant=world.merchant_a,
        provider=world.provider_x,
        acquirer=world.provider_x,
        purchase_date=date.today() - timedelta(days=800),
        warranty_end=date.today() - timedelta(days=70),
    )
    ticket = filed_and_routed(device, world.alice, "card_reader", "读卡器读不了芯片卡。")
    assert ticket.queue.kind == Queue.Kind.PAID_REPAIR
    workflow.claim(ticket, world.xavier)
    workflow.send_quote(ticket, world.xavier, Decimal("180.00"), "更换读卡模块及人工。")

    merchant = open_session(phone=True, locale="zh-CN")
    merchant.go("/accounts/login/")
    merchant.page.locator("input[name=username]").fill("alice")
    merchant.page.locator("input[name=password]").fill(PASSWORD)
    merchant.page.locator("main form button[type=submit]").click()
    merchant.settle()
    assert _lang(merchant) == "zh-hans"
    assert ticket.reference in merchant.text()
    step = merchant.page.locator(".next-step[data-step=quote]")
    assert step.count() == 1  # "a quote to decide", in Chinese
    merchant.page.locator(f"a[href='/tickets/{ticket.reference}/']").first.click()
    merchant.settle()
    assert "¥180.00" in merchant.text()
    merchant.screenshot("journey-zh-quote-phone")
    merchant.page.locator("form[action$='/quote/accept/'] button").click()
    merchant.settle()
    assert ticket.quotes.get().status == "accepted"

    workflow.resolve(ticket, world.xavier, Ticket.Resolution.ON_SITE, "已更换读卡模块。")
    merchant.page.reload()
    merchant.settle()
    merchant.page.locator("form[action$='/confirm/'] button").click()
    merchant.settle()
    merchant.page.locator("input[name=rating][value='5']").check()
    merchant.page.locator("form[action$='/rate/'] button").click()
    merchant.settle()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.rating == 5
    assert _lang(merchant) == "zh-hans"
    merchant.screenshot("journey-zh-rated-phone")
