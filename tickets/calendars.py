"""Open hours for SLA clocks: a queue's calendar of weekly hours and holidays.

A queue without a calendar, or with a 24-hour one, counts every minute (the clock it
always had). Otherwise SLA targets are minutes of open time: a P2 first response of 4
hours asked for at 17:00 on a Friday, with hours 09:00-18:00 Monday to Friday, is due
on Monday at 12:00 (Monday 11:00 if that Monday is a holiday ... the Tuesday).

Hours are read in the portal's time zone (TIME_ZONE). A day's hours are one span
(open < close, the same day); a closed day has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from tickets.models import BusinessCalendar

# Far enough for any SLA target: a year of closed days is a misconfigured calendar.
MAX_DAYS = 400


@dataclass(frozen=True)
class Hours:
    """A calendar's rules, read once (weekday 0 = Monday)."""

    always_open: bool
    week: tuple[tuple[time, time] | None, ...]  # seven entries
    holidays: frozenset[date]

    @classmethod
    def of(cls, calendar: BusinessCalendar | None) -> Hours | None:
        if calendar is None or calendar.always_open:
            return None
        return cls(
            always_open=False,
            week=calendar.week(),
            holidays=frozenset(calendar.holidays.values_list("date", flat=True)),
        )

    def span(self, day: date) -> tuple[datetime, datetime] | None:
        """The open span of `day` as aware datetimes, or None when closed."""
        if day in self.holidays:
            return None
        hours = self.week[day.weekday()]
        if hours is None:
            return None
        zone = timezone.get_default_timezone()
        opens, closes = hours
        return (
            datetime.combine(day, opens, tzinfo=zone),
            datetime.combine(day, closes, tzinfo=zone),
        )


def add_open_minutes(hours: Hours | None, start: datetime, minutes: float) -> datetime:
    """`start` plus `minutes` of open time."""
    if hours is None:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    day = timezone.localtime(start, timezone.get_default_timezone()).date()
    for _n in range(MAX_DAYS):
        span = hours.span(day)
        if span is not None:
            opens, closes = span
            begin = max(start, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += timedelta(days=1)
    # No open hours for a year: count wall time rather than never be due.
    return start + timedelta(minutes=minutes)


def open_minutes_between(hours: Hours | None, start: datetime, end: datetime) -> float:
    """Minutes of open time from `start` to `end` (0 when end is not after start)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds() / 60
    total = timedelta(0)
    zone = timezone.get_default_timezone()
    day = timezone.localtime(start, zone).date()
    last = timezone.localtime(end, zone).date()
    while day <= last:
        span = hours.span(day)
        if span is not None:
            begin, finish = max(start, span[0]), min(end, span[1])
            if begin < finish:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 60


def next_open(hours: Hours | None, moment: datetime) -> datetime:
    """`moment` if the queue is open then, else when it next opens."""
    return add_open_minutes(hours, moment, 0)
