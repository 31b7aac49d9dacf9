"""Building the daily rollups (reports.models.DayRollup) from tickets.

What a ticket counts for, and on which day (the portal's time zone):

- filed, filed while the shop could not take payments, filed for a fault of the terminal
  (not a payment dispute), in warranty for free or paid, and its quotes: the filing day;
- its first response time (the queue's open minutes from routing to the first answer):
  the day of that answer;
- resolved, its resolution time (open minutes from routing to resolution), whether both
  SLA targets were met, whether it was ever reopened, its rating: the resolution day;
- `ended` (it left the open statuses for good: resolved, closed or withdrawn): that day;
- downtime: the shop's downtime record (outages.Downtime) on the day it ended; a ticket
  without one that was filed with "can take payments: no" counts from filing to its end.

Time in "SLA time" is the queue's open hours (tickets.calendars), the same clock its
due times run on. The time a ticket waited on the merchant is not taken out: the due
times are pushed back by it, so compliance (met or breached) already allows for it.

Each ticket is read once per build and counted under every breakdown (`Dim`) at once.
`build_days` replaces whole days; `cells_for_today` counts today's touched tickets live.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from reports import buckets
from reports.models import DayRollup, Dim, Touched
from tickets.calendars import Hours, open_minutes_between
from tickets.models import Category, Queue, Quote, SelfHelpSuccess, Ticket, TicketEvent

logger = logging.getLogger(__name__)

COUNTERS = (
    "filed",
    "filed_no_payments",
    "filed_faults",
    "ended",
    "resolved",
    "sla_met",
    "sla_breached",
    "reopened",
    "rated",
    "rating_sum",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "deflected",
    "warranty_free",
    "paid",
    "quotes_sent",
    "quotes_accepted",
    "quotes_declined",
    "downtime_tickets",
    "downtime_minutes",
)
AMOUNTS = ("quoted_amount", "accepted_amount")
HISTS = ("first_response_hist", "resolution_hist")
ENDED_STATUSES = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED, Ticket.Status.CANCELLED)

# A full build reads this many days of tickets at a time (memory stays bounded).
CHUNK_DAYS = 31

TICKET_FIELDS = (
    "id",
    "created_at",
    "queue_id",
    "queue__provider_id",
    "device__model_id",
    "merchant__city",
    "category",
    "warranty_status",
    "assigned_to_id",
    "can_take_payments",
    "billable",
    "status",
    "routed_at",
    "first_responded_at",
    "resolved_at",
    "closed_at",
    "first_response_due",
    "resolution_due",
    "first_response_breached_at",
    "resolution_breached_at",
    "rating",
    "downtime__started_at",
    "downtime__ended_at",
)
# Moments whose day a ticket counts on: a day's build reads tickets with one in the day.
MOMENTS = ("created_at", "first_responded_at", "resolved_at", "closed_at", "downtime__ended_at")


@dataclass
class Cell:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNTS, Decimal(0)))
    hists: dict[str, dict[str, int]] = field(default_factory=lambda: {h: {} for h in HISTS})


CellKey = tuple[date, int | None, int | None, str, str]  # day, provider, queue, dim, key
Cells = dict[CellKey, Cell]


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_default_timezone())


def ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as contiguous [first, last] runs."""
    out: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] + timedelta(days=1) == day:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def in_days_q(days: Iterable[date], fields: Iterable[str], prefix: str = "") -> Q:
    q = Q()
    for first, last in ranges(days):
        start, end = day_start(first), day_start(last + timedelta(days=1))
        for name in fields:
            q |= Q(**{f"{prefix}{name}__gte": start, f"{prefix}{name}__lt": end})
    return q


def queue_hours() -> dict[int, Hours | None]:
    return {
        queue.pk: queue.hours()
        for queue in Queue.objects.select_related("calendar").prefetch_related("calendar__holidays")
    }


def dims_of(row: dict[str, Any]) -> list[tuple[str, str]]:
    out = [
        (Dim.ALL, ""),
        (Dim.MODEL, str(row["device__model_id"])),
        (Dim.CATEGORY, row["category"]),
        (Dim.WARRANTY, row["warranty_status"]),
    ]
    if row["merchant__city"]:
        out.append((Dim.CITY, row["merchant__city"]))
    if row.get("assigned_to_id"):
        out.append((Dim.TECHNICIAN, str(row["assigned_to_id"])))
    return out


class Counter:
    """Adds a ticket's contributions to `cells`, only on the days asked for."""

    def __init__(
        self,
        days: set[date],
        cells: Cells,
        hours: dict[int, Hours | None],
        dims: set[str] | None = None,
    ) -> None:
        self.days, self.cells, self.hours, self.dims = days, cells, hours, dims

    def cells_of(self, day: date, row: dict[str, Any]) -> Iterator[Cell]:
        provider, queue = row["queue__provider_id"], row["queue_id"]
        for dim, key in dims_of(row):
            if self.dims is not None and dim not in self.dims:
                continue
            k = (day, provider, queue, dim, key)
            cell = self.cells.get(k)
            if cell is None:
                cell = self.cells[k] = Cell()
            yield cell

    def add(self, when: datetime | None, row: dict[str, Any], **counts: int) -> None:
        if when is None:
            return
        day = local_day(when)
        if day not in self.days:
            return
        for cell in self.cells_of(day, row):
            for name, n in counts.items():
                cell.counts[name] += n

    def ticket(
        self, row: dict[str, Any], quotes: list[tuple[str, Decimal]], reopened: bool
    ) -> None:
        hours = self.hours.get(row["queue_id"])
        created = row["created_at"]
        self.add(
            created,
            row,
            filed=1,
            filed_no_payments=int(row["can_take_payments"] == Ticket.Payments.NO),
            filed_faults=int(row["category"] != Category.TRANSACTION),
            warranty_free=int(row["billable"] is False and row["warranty_status"] == "in"),
            paid=int(row["billable"] is True),
            quotes_sent=len(quotes),
            quotes_accepted=sum(1 for s, _a in quotes if s == Quote.Status.ACCEPTED),
            quotes_declined=sum(1 for s, _a in quotes if s == Quote.Status.DECLINED),
        )
        if quotes and local_day(created) in self.days:
            for cell in self.cells_of(local_day(created), row):
                cell.amounts["quoted_amount"] += sum((a for _s, a in quotes), Decimal(0))
                cell.amounts["accepted_amount"] += sum(
                    (a for s, a in quotes if s == Quote.Status.ACCEPTED), Decimal(0)
                )
        routed, responded = row["routed_at"], row["first_responded_at"]
        if responded is not None and routed is not None and local_day(responded) in self.days:
            minutes = open_minutes_between(hours, routed, responded)
            for cell in self.cells_of(local_day(responded), row):
                buckets.add(cell.hists["first_response_hist"], minutes)
        resolved = row["resolved_at"]
        if resolved is not None and local_day(resolved) in self.days:
            rating = row["rating"]
            met = breached = 0
            if row["resolution_due"] is not None:
                late = (
                    resolved > row["resolution_due"]
                    or row["resolution_breached_at"] is not None
                    or row["first_response_breached_at"] is not None
                    or (
                        responded is not None
                        and row["first_response_due"] is not None
                        and responded > row["first_response_due"]
                    )
                )
                met, breached = int(not late), int(late)
            minutes = open_minutes_between(hours, routed or created, resolved)
            for cell in self.cells_of(local_day(resolved), row):
                c = cell.counts
                c["resolved"] += 1
                c["sla_met"] += met
                c["sla_breached"] += breached
                c["reopened"] += int(reopened)
                if rating:
                    c["rated"] += 1
                    c["rating_sum"] += rating
                    c[f"rating_{rating}"] += 1
                buckets.add(cell.hists["resolution_hist"], minutes)
        end = None
        if row["status"] in ENDED_STATUSES:
            end = resolved or row["closed_at"]
            self.add(end, row, ended=1)
        # Downtime: the record when there is one, else "cannot take payments" at filing.
        started, stopped = row["downtime__started_at"], row["downtime__ended_at"]
        if started is None and row["can_take_payments"] == Ticket.Payments.NO and end:
            started, stopped = created, end
        if started is not None and stopped is not None:
            minutes = int((stopped - started).total_seconds() // 60)
            self.add(stopped, row, downtime_tickets=1, downtime_minutes=max(0, minutes))

    def self_help(self, row: dict[str, Any]) -> None:
        row = {
            **row,
            "queue_id": None,
            "queue__provider_id": row["device__provider_id"],
            "warranty_status": "",
        }
        day = local_day(row["created_at"])
        if day not in self.days:
            return
        for dim, key in dims_of(row):
            if dim == Dim.WARRANTY or (self.dims is not None and dim not in self.dims):
                continue
            k = (day, row["queue__provider_id"], None, dim, key)
            cell = self.cells.setdefault(k, Cell())
            cell.counts["deflected"] += 1


def count(
    tickets: QuerySet[Ticket],
    selfhelp: QuerySet[SelfHelpSuccess],
    days: set[date],
    hours: dict[int, Hours | None] | None = None,
    *,
    few: bool = False,
    dims: set[str] | None = None,
) -> Cells:
    """The cells of `days` that `tickets` and `selfhelp` contribute (four queries).

    `few`: the tickets are a short list of ids (today's): read at once, not through a
    server-side cursor, whose DECLARE and FETCH cost more round trips than the rows.
    `dims`: only these breakdowns (a page shows the totals and one)."""
    cells: Cells = {}
    counter = Counter(days, cells, hours if hours is not None else queue_hours(), dims)
    ids = tickets.order_by().values("pk")
    quotes: dict[int, list[tuple[str, Decimal]]] = {}
    for ticket_id, status, amount in Quote.objects.filter(ticket__in=ids).values_list(
        "ticket_id", "status", "amount"
    ):
        quotes.setdefault(ticket_id, []).append((status, amount))
    reopened = set(
        TicketEvent.objects.filter(ticket__in=ids, kind=TicketEvent.Kind.REOPENED)
        .order_by()
        .values_list("ticket_id", flat=True)
        .distinct()
    )
    rows = tickets.order_by().values(*TICKET_FIELDS)
    for row in rows if few else rows.iterator(chunk_size=5000):
        counter.ticket(row, quotes.get(row["id"], []), row["id"] in reopened)
    for row in selfhelp.order_by().values(
        "created_at", "category", "device__provider_id", "device__model_id", "merchant__city"
    ):
        counter.self_help(row)
    return cells


def rows_of(cells: Cells) -> Iterator[DayRollup]:
    for (day, provider, queue, dim, key), cell in cells.items():
        yield DayRollup(
            day=day,
            provider_id=provider,
            queue_id=queue,
            dim=dim,
            key=key[:80],
            **cell.counts,
            **cell.amounts,
            **cell.hists,
        )


def build_days(days: Iterable[date]) -> int:
    """Replace the rollups of `days` (never today: today is counted live). Returns rows."""
    today = timezone.localdate()
    days = {d for d in days if d < today}
    if not days:
        return 0
    written = 0
    hours = queue_hours()
    ordered = sorted(days)
    # At most CHUNK_DAYS days per read of the tickets, contiguous or not: the beat task's
    # days are scattered (an event on an old ticket touches its filing day), and each
    # read is one pass over the tickets table.
    for n in range(0, len(ordered), CHUNK_DAYS):
        chunk = set(ordered[n : n + CHUNK_DAYS])
        cells = count(
            Ticket.objects.filter(in_days_q(chunk, MOMENTS)),
            SelfHelpSuccess.objects.filter(in_days_q(chunk, ["created_at"])),
            chunk,
            hours,
        )
        with transaction.atomic():
            DayRollup.objects.filter(day__in=chunk).delete()
            written += len(DayRollup.objects.bulk_create(rows_of(cells), batch_size=2000))
    return written


def build_all() -> int:
    """Every day from the first ticket to yesterday, and today's touched list (the bench's
    seed and a first deployment: tickets written without the hooks)."""
    first = Ticket.objects.aggregate(first=Min("created_at"))["first"]
    if first is None:
        return 0
    today = timezone.localdate()
    day = local_day(first)
    written = build_days(day + timedelta(days=n) for n in range((today - day).days))
    touch_today()
    return written


def touch_today() -> None:
    """Name every ticket with something on today's clock as touched (a bulk load)."""
    today = timezone.localdate()
    ids = Ticket.objects.filter(in_days_q({today}, MOMENTS)).values_list("pk", flat=True)
    Touched.objects.bulk_create(
        (Touched(ticket_id=pk, day=today) for pk in ids.iterator()),
        batch_size=5000,
        ignore_conflicts=True,
    )
    sh = SelfHelpSuccess.objects.filter(in_days_q({today}, ["created_at"]))
    Touched.objects.bulk_create(
        (Touched(selfhelp_id=pk, day=today) for pk in sh.values_list("pk", flat=True)),
        ignore_conflicts=True,
    )


def cells_for_today(provider_id: int | None, dims: set[str] | None = None) -> Cells:
    """Today's cells, counted now from the tickets touched today (queue's provider
    `provider_id`, or all when None), of the breakdowns `dims` (None: all)."""
    today = timezone.localdate()
    touched = Touched.objects.filter(day=today)
    tickets = Ticket.objects.filter(
        pk__in=touched.filter(ticket_id__isnull=False).values("ticket_id")
    )
    selfhelp = SelfHelpSuccess.objects.filter(
        pk__in=touched.filter(selfhelp_id__isnull=False).values("selfhelp_id")
    )
    if provider_id is not None:
        tickets = tickets.filter(queue__provider_id=provider_id)
        selfhelp = selfhelp.filter(device__provider_id=provider_id)
    # The ids first (one index range of Touched), so the quotes, reopens and rows are
    # then read by primary and foreign keys instead of each joining Touched again.
    ids = list(tickets.values_list("pk", flat=True))
    return count(Ticket.objects.filter(pk__in=ids), selfhelp, {today}, few=True, dims=dims)


# Keeping them current -----------------------------------------------------------------


def touch(ticket_ids: Iterable[int], days: Iterable[date]) -> None:
    days = set(days)
    Touched.objects.bulk_create(
        [Touched(ticket_id=pk, day=day) for pk in set(ticket_ids) for day in days],
        ignore_conflicts=True,
    )


def rebuild_touched() -> int:
    """Rebuild the earlier days tickets were touched on since they were built (the beat
    task), then forget those touches. Today's stay: the page counts them live."""
    today = timezone.localdate()
    pending = Touched.objects.filter(day__lt=today)
    last = pending.order_by("-pk").values_list("pk", flat=True).first()
    if last is None:
        return 0
    days = set(pending.filter(pk__lte=last).values_list("day", flat=True).distinct())
    written = build_days(days)
    Touched.objects.filter(day__lt=today, pk__lte=last).delete()
    logger.info("Rebuilt report rollups of %d day(s): %d rows", len(days), written)
    return written


def refresh_recent(days: int) -> int:
    """Rebuild the last `days` days whole: what a missed touch would have left behind
    (a late rating of an old ticket still reaches its resolution day)."""
    today = timezone.localdate()
    return build_days(today - timedelta(days=n) for n in range(1, days + 1))
