"""No English sentence of PosDesk's own on a Chinese page (issue 12): every page.

Every page of every role (a merchant, a technician, a user with no role, a visitor) is
rendered in English and in Simplified Chinese from the same data, for every object of
the lived-in world (tests/i18n/conftest.py): each ticket in each state, each terminal,
each queue. Any English word of PosDesk's own left on the Chinese render fails
(englishfinder.py); names and what people typed are allowed.

A new URL is covered the moment it is added: every page of tests.security.urlmap must
be rendered by the role it is for, or the test names it. The pages only a form or an
action reaches are in test_no_english_after_forms.py.
"""

from __future__ import annotations

from itertools import product

import pytest
from django.urls import reverse

from tests.i18n.conftest import LivedIn, entered_data
from tests.i18n.reading import as_reader, findings, is_page, reader, report
from tests.security.urlmap import PUBLIC, ProjectUrl, fixed_kwargs, kinds_for, project_urls

pytestmark = pytest.mark.django_db

# Files, not pages; and the log-out, which only answers a POST.
NOT_PAGES = {
    "logout",
    "devices:proof",
    "terminals:proof",
    "tickets:attachment",
    "tickets:work_proof",
    "outages:offline_sales_csv",
    # CSV and XLSX files (reports, issue 15): their headers are checked in Chinese by
    # reports/tests; Prometheus' text format is for machines (ops).
    "reports:export",
    "reports:queue_export",
    "reports:search_export",
    "reports:mine_export",
    "reports:tickets_export",
    "reports:devices_export",
    "ops:metrics",
}
# The REST API answers JSON (api/, issue 16): codes and field names, no page; its
# problem titles are translated and checked in api/tests/test_problems.py.
API_JSON = ("/api/v1/", "/api/schema/")
# Prefixes: "tickets:work" takes in the search and "My tickets" (work_search, work_mine),
# "repairs:work_" the technician's receipt; the shop's repair pages are the others.
TECHNICIAN_PAGES = (
    "tickets:work",
    "tickets:queue",
    "tickets:canned",
    "terminals:",
    "outages:work_",
    "repairs:work_",
    "webhooks:",
    # A provider's reports: Xavier of the lived-in world is X's manager.
    "reports:index",
    "reports:scorecard",
)
EVERYONES_PAGES = {"password_change", "password_change_done"}


def _readers(url: ProjectUrl) -> set[str]:
    """Who the page is for: they must get it."""
    if url.name in PUBLIC:
        return {"visitor"}
    if url.name in EVERYONES_PAGES:
        return {"merchant", "technician"}
    if url.name.startswith(TECHNICIAN_PAGES):
        return {"technician"}
    return {"merchant"}


def _every_path(url: ProjectUrl, lived: LivedIn) -> list[str]:
    """The URL for each object (and each mix of objects) of the world."""
    kinds = kinds_for(url)
    names = list(kinds)
    return [
        reverse(url.name, kwargs={**fixed_kwargs(url), **dict(zip(names, ids, strict=True))})
        for ids in product(*(lived.ids(kinds[name]) for name in names))
    ]


@pytest.mark.parametrize("role", ["merchant", "technician", "no_role", "visitor"])
def test_every_page_is_chinese_for_a_chinese_reader(lived_in: LivedIn, role: str) -> None:
    who = reader(lived_in, role)
    data = entered_data(lived_in)
    found: dict[str, list[str]] = {}
    never: list[str] = []
    for url in project_urls():
        if url.name in NOT_PAGES or url.route.startswith(API_JSON):
            continue
        statuses = set()
        for path in _every_path(url, lived_in):
            english = as_reader(who, "en", lambda client, p=path: client.get(p), set())
            statuses.add(english.status_code)
            if english.status_code == 405:
                break  # an action: POST only, whatever the object
            if english.status_code != 200 or not is_page(english):
                continue
            chinese = as_reader(who, "zh-hans", lambda client, p=path: client.get(p), set())
            for finding in findings(english, chinese, data):
                found.setdefault(finding, []).append(path)
        if role in _readers(url) and 200 not in statuses and statuses != {405}:
            never.append(f"{url.name} was never a page for the {role}: {sorted(statuses)}")
    assert never == [], "\n".join(never)
    assert found == {}, report(found)
