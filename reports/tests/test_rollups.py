"""On random data, the rollups (and today's live count) give what a direct aggregation of
the tickets gives, for the totals and for each breakdown; and they stay right when
tickets change after their day was built (the touched list and the beat task)."""

from __future__ import annotations

import random
from datetime import time as dtime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from reports import buckets, rollups
from reports.models import DayRollup, Touched
from reports.report import build
from reports.tests.helpers import at, queue_of, ticket
from tests.factories import DeviceFactory
from tickets.calendars import open_minutes_between
from tickets.models import BusinessCalendar, Quote, SelfHelpSuccess, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

DAYS = 12


def random_world(world, rng: random.Random) -> None:  # noqa: ANN001
    today = timezone.localdate()
    calendar = BusinessCalendar.objects.create(
        name="Office", mon_opens=dtime(9), mon_closes=dtime(18), tue_opens=dtime(9),
        tue_closes=dtime(18), wed_opens=dtime(9), wed_closes=dtime(18), thu_opens=dtime(9),
        thu_closes=dtime(18), fri_opens=dtime(9), fri_closes=dtime(18),
    )  # fmt: skip
    queues = [queue_of(world.provider_x), queue_of(world.provider_x, "paid_repair")]
    queues.append(queue_of(world.provider_y))
    queues[1].calendar = calendar
    queues[1].save()
    devices = [world.device_a, world.device_b] + [
        DeviceFactory(merchant=world.merchant_a, provider=world.provider_x) for _ in range(2)
    ]
    world.merchant_a.city = "Hangzhou"
    world.merchant_a.save()
    techs = [world.xavier, world.xena, world.yuri, None]
    for _n in range(150):
        day = today - timedelta(days=rng.randrange(DAYS + 1))
        filed = at(day, rng.randrange(24), rng.randrange(60))
        if filed > timezone.now():
            filed = timezone.now() - timedelta(minutes=5)
        status = rng.choice(["queued", "in_progress", "resolved", "closed", "cancelled"])
        later = lambda filed=filed: filed + timedelta(minutes=rng.randrange(1, 4000))  # noqa: E731
        responded = later() if status != "queued" and rng.random() < 0.8 else None
        resolved = later() if status in ("resolved", "closed") else None
        if resolved and responded and responded > resolved:
            responded = resolved
        for moment in (responded, resolved):
            if moment and moment > timezone.now():
                responded = resolved = None
                status = "in_progress"
        closed = (resolved or later()) if status in ("closed", "cancelled") else None
        if closed and closed > timezone.now():
            closed, status = None, "in_progress"
        t = ticket(
            world,
            rng.choice(queues),
            filed,
            device=rng.choice(devices),
            category=rng.choice(["hardware", "software", "network", "transaction"]),
            can_take_payments=rng.choice(["no", "degraded", "yes"]),
            warranty_status=rng.choice(["in", "out", "unknown"]),
            billable=rng.choice([True, False, None]),
            assigned_to=rng.choice(techs),
            status=status,
            first_responded_at=responded,
            resolved_at=resolved,
            closed_at=closed,
            first_response_due=filed + timedelta(minutes=rng.randrange(30, 300)),
            resolution_due=filed + timedelta(minutes=rng.randrange(300, 3000)),
            rating=rng.choice([None, 1, 2, 3, 4, 5]) if resolved else None,
        )
        if resolved and rng.random() < 0.2:
            TicketEvent.objects.create(ticket=t, kind="reopened", created_at=resolved)
        if rng.random() < 0.2:
            Quote.objects.create(
                ticket=t,
                amount=Decimal(rng.randrange(10, 500)),
                covers="parts",
                status=rng.choice(["pending", "accepted", "declined"]),
                created_by=world.xavier,
            )
    for _n in range(20):
        day = today - timedelta(days=rng.randrange(DAYS + 1))
        SelfHelpSuccess.objects.create(
            merchant=world.merchant_a,
            device=rng.choice(devices[:1] + devices[2:]),
            category=rng.choice(["software", "network"]),
            created_at=min(at(day, rng.randrange(24)), timezone.now()),
        )


def direct(provider, start, end, extra: Q = Q()) -> dict:  # noqa: ANN001, B008
    """The same figures straight from the tickets, for comparison."""
    zone = timezone.get_default_timezone()
    lo = timezone.datetime.combine(start, dtime.min, tzinfo=zone)
    hi = timezone.datetime.combine(end + timedelta(days=1), dtime.min, tzinfo=zone)
    mine = Ticket.objects.filter(extra, queue__provider=provider)
    filed = mine.filter(created_at__gte=lo, created_at__lt=hi)
    resolved = mine.filter(resolved_at__gte=lo, resolved_at__lt=hi)
    responded = mine.filter(first_responded_at__gte=lo, first_responded_at__lt=hi)
    fr = [
        open_minutes_between(t.queue.hours(), t.routed_at, t.first_responded_at)
        for t in responded.select_related("queue__calendar")
    ]
    res = [
        open_minutes_between(t.queue.hours(), t.routed_at, t.resolved_at)
        for t in resolved.select_related("queue__calendar")
    ]
    breached = sum(
        1
        for t in resolved
        if t.resolved_at > t.resolution_due
        or (t.first_responded_at and t.first_responded_at > t.first_response_due)
    )
    ratings = resolved.exclude(rating=None).aggregate(n=Count("id"), avg=Avg("rating"))
    quotes = Quote.objects.filter(ticket__in=filed)
    downtime = 0
    for t in mine.filter(status__in=["resolved", "closed", "cancelled"], can_take_payments="no"):
        end_at = t.resolved_at or t.closed_at
        if lo <= end_at < hi:
            downtime += int((end_at - t.created_at).total_seconds() // 60)
    return {
        "filed": filed.count(),
        "filed_faults": filed.exclude(category="transaction").count(),
        "resolved": resolved.count(),
        "fr_median": buckets.nearest_rank(fr, 0.5),
        "fr_p90": buckets.nearest_rank(fr, 0.9),
        "res_median": buckets.nearest_rank(res, 0.5),
        "res_p90": buckets.nearest_rank(res, 0.9),
        "sla_breached": breached,
        "reopened": resolved.filter(events__kind="reopened").distinct().count(),
        "rated": ratings["n"],
        "rating_average": round(ratings["avg"], 2) if ratings["avg"] else None,
        "paid": filed.filter(billable=True).count(),
        "warranty_free": filed.filter(billable=False, warranty_status="in").count(),
        "quotes_accepted": quotes.filter(status="accepted").count(),
        "quoted_amount": quotes.aggregate(s=Sum("amount"))["s"] or Decimal(0),
        "downtime_minutes": downtime,
    }


def figures(f) -> dict:  # noqa: ANN001
    return {
        "filed": f.filed,
        "filed_faults": f.filed_faults,
        "resolved": f.resolved,
        "fr_median": f.first_response_median,
        "fr_p90": f.first_response_p90,
        "res_median": f.resolution_median,
        "res_p90": f.resolution_p90,
        "sla_breached": f.sla_breached,
        "reopened": f.reopened,
        "rated": f.rated,
        "rating_average": f.rating_average,
        "paid": f.paid,
        "warranty_free": f.warranty_free,
        "quotes_accepted": f.quotes_accepted,
        "quoted_amount": f.amounts["quoted_amount"],
        "downtime_minutes": f.downtime_minutes,
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_rollups_equal_a_direct_aggregation(world, seed) -> None:  # noqa: ANN001
    random_world(world, random.Random(seed))
    rollups.build_all()  # every day before today, and today's touched list
    today = timezone.localdate()
    assert not DayRollup.objects.filter(day=today).exists()  # today is counted live
    for start, end in (
        (today - timedelta(days=DAYS), today),
        (today - timedelta(days=5), today - timedelta(days=2)),
    ):
        for provider in (world.provider_x, world.provider_y):
            assert figures(build(provider, start, end, "queue").total) == direct(
                provider, start, end
            )
        by_model = {f.key: f for f in build(world.provider_x, start, end, "model").groups}
        for key, f in by_model.items():
            assert figures(f) == direct(world.provider_x, start, end, Q(device__model_id=int(key)))
        by_tech = {f.key: f for f in build(world.provider_x, start, end, "technician").groups}
        for key, f in by_tech.items():
            assert figures(f) == direct(world.provider_x, start, end, Q(assigned_to_id=int(key)))
        by_category = {f.key: f for f in build(world.provider_x, start, end, "category").groups}
        for key, f in by_category.items():
            if f.filed or f.resolved:
                assert figures(f) == direct(world.provider_x, start, end, Q(category=key))
            deflected = SelfHelpSuccess.objects.filter(
                category=key,
                device__provider=world.provider_x,
                created_at__gte=at(start, 0),
                created_at__lt=at(end + timedelta(days=1), 0),
            ).count()
            assert f.deflected == deflected


def test_a_change_to_an_old_ticket_reaches_its_day(world) -> None:  # noqa: ANN001
    """A rating given today to a ticket resolved three days ago: the event touches the
    resolution day, the beat task rebuilds it and forgets the touch."""
    from tickets import events

    day = timezone.localdate() - timedelta(days=3)
    t = ticket(
        world, queue_of(world.provider_x), at(day, 9), resolved_at=at(day, 10), status="resolved"
    )
    rollups.build_days({day})
    assert build(world.provider_x, day, day, "queue").total.rated == 0
    Ticket.objects.filter(pk=t.pk).update(rating=4)
    t.refresh_from_db()
    events.record(t, TicketEvent.Kind.RATED, world.alice, data={"rating": 4}, announce=False)
    assert Touched.objects.filter(ticket_id=t.pk, day=day).exists()
    rollups.rebuild_touched()
    assert build(world.provider_x, day, day, "queue").total.rating_average == 4.0
    assert not Touched.objects.filter(day__lt=timezone.localdate()).exists()


def test_today_is_live(world, as_user) -> None:  # noqa: ANN001
    """A ticket filed and answered now is on the report at once, with no build."""
    from tickets import events

    # Seven minutes ago may be yesterday just after midnight (CI once ran at 00:0x in
    # Shanghai): file no earlier than today's midnight.
    filed = max(timezone.now() - timedelta(minutes=7), at(timezone.localdate(), 0))
    t = ticket(
        world, queue_of(world.provider_x), filed, first_responded_at=filed + timedelta(minutes=7)
    )
    events.record(t, TicketEvent.Kind.REPLY, world.xavier, "On my way", announce=False)
    report = build(world.provider_x, timezone.localdate(), timezone.localdate(), "queue")
    assert (report.total.filed, report.total.first_response_median) == (1, 7)
    assert report.daily[-1][1:] == (1, 0, 1)  # filed today, none resolved, one open


def test_scattered_days_are_rebuilt_and_others_kept(world) -> None:  # noqa: ANN001
    """The beat's days are scattered: each asked-for day is replaced, the others kept."""
    today = timezone.localdate()
    far, near, kept = (today - timedelta(days=n) for n in (40, 3, 20))
    q = queue_of(world.provider_x)
    for day in (far, near, kept):
        ticket(world, q, at(day, 9))
    rollups.build_days({far, near, kept})
    ticket(world, q, at(far, 10))
    ticket(world, q, at(near, 10))
    ticket(world, q, at(kept, 10))  # not rebuilt: still counted once
    rollups.build_days({far, near})
    filed = {
        day: build(world.provider_x, day, day, "queue").total.filed for day in (far, near, kept)
    }
    assert filed == {far: 2, near: 2, kept: 1}


def test_beat_runs_the_rollup_tasks(world, settings) -> None:  # noqa: ANN001
    """Beat's two entries name registered tasks, and each rebuilds what it should."""
    from portal.celery import app
    from reports import tasks

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"reports.tasks.rollup_touched", "reports.tasks.rollup_refresh"} <= names
    assert {"reports.tasks.rollup_touched", "reports.tasks.rollup_refresh"} <= set(app.tasks)
    day = timezone.localdate() - timedelta(days=2)
    t = ticket(world, queue_of(world.provider_x), at(day, 9))
    rollups.touch([t.pk], {day})
    tasks.rollup_touched.apply()
    assert build(world.provider_x, day, day, "queue").total.filed == 1
    DayRollup.objects.all().delete()
    settings.REPORTS_REFRESH_DAYS = 3
    tasks.rollup_refresh.apply()
    assert build(world.provider_x, day, day, "queue").total.filed == 1
