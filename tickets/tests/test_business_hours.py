"""Business hours (issue 14, item 9): SLA clocks count only a queue's open hours, and
breaches follow them; at the boundaries, overnight, over a weekend and a holiday, with
a controlled clock. Hours are in the portal's time zone (Asia/Shanghai in tests)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conftest import World
from tests.factories import queued_ticket
from tickets import sla, workflow
from tickets.calendars import Hours, add_open_minutes, open_minutes_between
from tickets.models import BusinessCalendar, Holiday, Queue, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

NINE, SIX = time(9, 0), time(18, 0)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.get_default_timezone())


@pytest.fixture
def office() -> BusinessCalendar:
    """09:00-18:00 Monday to Friday; 2027-01-04 (a Monday) is a holiday."""
    calendar = BusinessCalendar.objects.create(
        name="Office hours",
        **{f"{day}_opens": NINE for day in ("mon", "tue", "wed", "thu", "fri")},
        **{f"{day}_closes": SIX for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    Holiday.objects.create(calendar=calendar, date=date(2027, 1, 4), name="New Year (observed)")
    return calendar


def hours(calendar: BusinessCalendar) -> Hours:
    return Hours.of(calendar)


def test_inside_one_day(office: BusinessCalendar) -> None:
    # Wednesday 2026-12-30, 10:00 + 4 h = 14:00 the same day.
    assert add_open_minutes(hours(office), local(2026, 12, 30, 10), 240) == local(2026, 12, 30, 14)


def test_overnight_the_clock_waits_for_the_morning(office: BusinessCalendar) -> None:
    # Wednesday 17:00 + 2 h: one hour that day, one from 09:00 on Thursday.
    assert add_open_minutes(hours(office), local(2026, 12, 30, 17), 120) == local(2026, 12, 31, 10)
    # Filed at night: the whole target counts from the next opening.
    assert add_open_minutes(hours(office), local(2026, 12, 30, 22), 60) == local(2026, 12, 31, 10)


def test_exactly_at_closing_and_opening(office: BusinessCalendar) -> None:
    # A target that ends at 18:00 is due at 18:00, not the next morning.
    assert add_open_minutes(hours(office), local(2026, 12, 30, 17), 60) == local(2026, 12, 30, 18)
    # Filed at 18:00 sharp: nothing left that day.
    half_past_nine = local(2026, 12, 31, 9, 30)
    assert add_open_minutes(hours(office), local(2026, 12, 30, 18), 30) == half_past_nine
    assert add_open_minutes(hours(office), local(2026, 12, 31, 9), 30) == half_past_nine


def test_the_weekend_and_a_holiday_do_not_count(office: BusinessCalendar) -> None:
    # Friday 2027-01-01 17:00 + 4 h: 1 h on Friday, Saturday and Sunday closed, Monday
    # 2027-01-04 a holiday, 3 h on Tuesday.
    due = add_open_minutes(hours(office), local(2027, 1, 1, 17), 240)
    assert due == local(2027, 1, 5, 12)
    assert open_minutes_between(hours(office), local(2027, 1, 1, 17), due) == 240


def test_round_the_clock_and_no_calendar_count_every_minute() -> None:
    always = BusinessCalendar.objects.create(name="24 h", always_open=True)
    start = local(2027, 1, 2, 23)  # a Saturday night
    assert add_open_minutes(Hours.of(always), start, 90) == start + timedelta(minutes=90)
    assert add_open_minutes(None, start, 90) == start + timedelta(minutes=90)


def test_a_calendar_needs_sensible_hours() -> None:
    calendar = BusinessCalendar(name="Odd", mon_opens=time(18), mon_closes=time(9))
    with pytest.raises(ValidationError) as refused:
        calendar.full_clean()
    assert "mon_closes" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        BusinessCalendar(name="Never").full_clean()
    assert "always_open" in refused.value.message_dict


def test_routing_due_times_and_breaches_follow_the_calendar(
    world: World, office: BusinessCalendar
) -> None:
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    queue.calendar = office
    queue.first_response_p1 = 60
    queue.save()
    friday_evening = local(2027, 1, 1, 17, 30)
    ticket = queued_ticket(world.device_a, now=friday_evening, priority=1)
    # 30 min on Friday, the weekend and the holiday skipped, 30 min on Tuesday.
    assert ticket.first_response_due == local(2027, 1, 5, 9, 30)

    # Not breached over the weekend, though an hour of wall time has long passed ...
    assert sla.mark_breaches(local(2027, 1, 4, 12)) == 0
    # ... but once the open hour has run out.
    assert sla.mark_breaches(local(2027, 1, 5, 9, 31)) == 1
    assert ticket.events.filter(kind=TicketEvent.Kind.SLA_BREACHED).count() == 1


def test_waiting_on_the_merchant_over_a_weekend_moves_the_due_time_by_open_hours_only(
    world: World, office: BusinessCalendar
) -> None:
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    queue.calendar = office
    queue.save()
    ticket = queued_ticket(world.device_a, now=local(2026, 12, 30, 10), priority=1)
    resolution_due = ticket.resolution_due
    # Asked on Thursday 17:00, answered on Tuesday 10:00: 1 h Thursday, 9 h on Friday
    # (New Year's Day is not a holiday of this calendar), the weekend and the Monday
    # holiday nothing, 1 h on Tuesday: 11 open hours.
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Ticket.Status.WAITING_MERCHANT, sla_paused_at=local(2026, 12, 31, 17)
    )
    ticket.refresh_from_db()
    workflow._resume_sla(ticket, local(2027, 1, 5, 10))
    assert ticket.resolution_due == add_open_minutes(hours(office), resolution_due, 11 * 60)


def test_the_merchant_sees_when_the_first_reply_is_due(
    world: World,
    office: BusinessCalendar,
    as_user,  # noqa: ANN001
) -> None:
    queue = Queue.objects.get(provider=world.provider_x, kind=Queue.Kind.WARRANTY_REPAIR)
    queue.calendar = office
    queue.first_response_p1 = 60
    queue.save()
    ticket = queued_ticket(world.device_a, now=local(2027, 1, 1, 17, 30), priority=1)
    page = as_user(world.alice).get(ticket.get_absolute_url()).content.decode()
    assert "First reply by Tuesday 2027-01-05 09:30" in page
