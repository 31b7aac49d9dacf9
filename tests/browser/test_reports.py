"""Reports (issue 15) in a browser: an admin on a desktop and a provider's manager on a
phone (390 x 844) open /reports/ from the menu, change the breakdown and open the
scorecard. Every page passes axe-core, obeys the CSP (the charts are server-drawn SVG,
no script) and, on the phone, does not scroll sideways. Screenshots in test-output/."""

from __future__ import annotations

import pytest

from devices.models import Membership
from reports import rollups
from reports.tests.helpers import hand_made
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reported(world):  # noqa: ANN001, ANN201
    data = hand_made(world)
    rollups.build_days({data["d1"], data["d2"]})
    Membership.objects.filter(user=world.xena).update(manager=True)
    return data


def test_an_admin_reads_every_provider_on_a_desktop(world, reported, open_session) -> None:  # noqa: ANN001
    admin = open_session()
    admin.log_in("admin", PASSWORD)  # lands in the Django admin, which has its own layout
    admin.go("/reports/")
    assert admin.page.locator("nav.navbar a[href='/reports/']").count() == 1
    totals = admin.page.locator("#totals").inner_text()
    assert "Filed\n4" in totals
    assert admin.page.locator("svg").count() >= 4
    rows = admin.page.locator("#breakdown-table tbody tr")
    assert "Provider X" in rows.first.inner_text()
    admin.page.locator("select[name=by]").select_option("model")
    admin.click("button", "Show")
    assert "by=model" in admin.page.url
    assert "Faults per 100 a month" in admin.text()
    admin.screenshot("reports-admin-desktop")
    admin.click("link", "Provider scorecard")
    table = admin.page.locator("#scorecard-table").inner_text()
    assert "Provider X" in table
    assert "Provider Y" in table
    admin.screenshot("reports-admin-scorecard-desktop")


def test_a_manager_reads_their_provider_on_a_phone(world, reported, open_session) -> None:  # noqa: ANN001
    manager = open_session(phone=True)
    manager.log_in("xena", PASSWORD)
    manager.nav("Reports")
    assert "Reports · Provider X" in manager.text()
    assert "Filed\n4" in manager.page.locator("#totals").inner_text()
    assert manager.page.locator("select[name=provider]").count() == 0
    manager.screenshot("reports-manager-phone")
    manager.click("link", "Provider scorecard")
    table = manager.page.locator("#scorecard-table").inner_text()
    assert "Provider X" in table
    assert "Provider Y" not in table
    assert "Other provider A" in table
    manager.screenshot("reports-manager-scorecard-phone")
