"""Every metric of a report on a small hand-made data set whose answers are worked out
by hand (reports.tests.helpers.hand_made):

T1 hardware, cannot take payments, in warranty (free), answered after 10 min, resolved
   after 110 min in time, rated 5, closed the next day. Downtime 110 min (no record:
   from filing to resolution).
T2 hardware, out of warranty (paid), answered after 30 min, resolved the next day after
   1,440 min (late: SLA breached), reopened once, rated 3, a quote of 200 accepted and
   one of 50 declined.
T3 a payment dispute (not a terminal fault), cannot take payments, answered after
   20 min, still open.
T4 software, withdrawn an hour after filing; its downtime record says 45 minutes.
And two faults (network) fixed by the self-help checks before any ticket.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports import rollups
from reports.report import build
from reports.tests.helpers import hand_made

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(world):  # noqa: ANN001, ANN201
    data = hand_made(world)
    rollups.build_days({data["d1"], data["d2"]})
    return data


def test_every_metric_of_the_totals(world, made) -> None:  # noqa: ANN001
    report = build(world.provider_x, made["d1"], made["d2"], "queue")
    t = report.total
    assert (t.filed, t.filed_no_payments, t.filed_faults) == (4, 3, 3)
    assert (t.resolved, t.ended) == (2, 3)
    assert (t.first_response_median, t.first_response_p90) == (20, 30)
    # 110 min is exact; 1,440 min falls in the 15-minute bucket 1440-1455, read at its middle.
    assert (t.resolution_median, t.resolution_p90) == (110, 1447.5)
    assert (t.sla_met, t.sla_breached, t.sla_compliance) == (1, 1, 50.0)
    assert (t.reopened, t.reopen_rate) == (1, 50.0)
    assert (t.rated, t.rating_average) == (2, 4.0)
    assert t.rating_distribution == [(1, 0), (2, 0), (3, 1), (4, 0), (5, 1)]
    assert t.deflected == 2
    assert t.deflection_rate == 33.3  # 2 of 2 + 4
    assert (t.warranty_free, t.paid, t.warranty_share, t.paid_share) == (1, 1, 25.0, 25.0)
    assert (t.quotes_sent, t.quotes_accepted, t.quotes_declined, t.quote_acceptance) == (
        2,
        1,
        1,
        50.0,
    )
    assert t.amounts == {"quoted_amount": Decimal("250"), "accepted_amount": Decimal("200")}
    assert (t.downtime_tickets, t.downtime_minutes) == (2, 155)
    assert (t.downtime_hours, t.downtime_hours_per_ticket) == (2.6, 1.29)
    # Backlog: T3 is open now; at the end of D1 T2 was open too.
    assert report.open_now == 1
    assert [(d, f, r, b) for d, f, r, b in report.daily] == [
        (made["d1"], 4, 1, 2),
        (made["d2"], 0, 1, 1),
    ]


def test_breakdowns(world, made) -> None:  # noqa: ANN001
    by_tech = {
        f.label: f for f in build(world.provider_x, made["d1"], made["d2"], "technician").groups
    }
    xavier = by_tech[world.xavier.get_username()]
    assert (xavier.filed, xavier.resolved, xavier.sla_compliance) == (2, 2, 50.0)
    assert by_tech[world.xena.get_username()].first_response_median == 20

    by_category = {
        f.key: f for f in build(world.provider_x, made["d1"], made["d2"], "category").groups
    }
    assert by_category["network"].deflection_rate == 100.0  # 2 fixed, none filed
    assert by_category["hardware"].deflection_rate == 0.0
    assert by_category["transaction"].filed_faults == 0

    (model,) = build(world.provider_x, made["d1"], made["d2"], "model").groups
    # Three terminal faults on the one active terminal in (at least) a month.
    assert (model.active_terminals, model.failures_per_100) == (1, 300.0)
    (brand,) = build(world.provider_x, made["d1"], made["d2"], "brand").groups
    assert brand.label == world.device_a.model.brand.name
    assert brand.failures_per_100 == 300.0

    (city,) = build(world.provider_x, made["d1"], made["d2"], "city").groups
    assert (city.label, city.filed) == ("Shanghai", 4)
    by_warranty = {
        f.key: f.filed for f in build(world.provider_x, made["d1"], made["d2"], "warranty").groups
    }
    assert by_warranty == {"in": 2, "out": 2}


def test_the_other_provider_sees_none_of_it(world, made) -> None:  # noqa: ANN001
    report = build(world.provider_y, made["d1"], made["d2"], "queue")
    assert report.total.filed == 0
    assert report.groups == []


def test_admin_all_providers_by_provider(world, made) -> None:  # noqa: ANN001
    report = build(None, made["d1"], made["d2"], "provider")
    assert {f.label: f.filed for f in report.groups if f.filed} == {"Provider X": 4}
    assert report.total.filed == 4
