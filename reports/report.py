"""Reading the rollups: one report for a date range, a provider (or all) and a breakdown.

Days before today come from `DayRollup` (summed by PostgreSQL, histograms merged with
`jsonb_each_text`); today is counted live from the tickets touched today
(reports.rollups.cells_for_today). A report reads the same dozen queries whatever the
number of tickets or days (tests/test_queries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Case, CharField, Count, F, Sum, Value, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import Device, DeviceModel, Provider
from portal.models import User
from reports import buckets
from reports.models import DayRollup, Dim
from reports.rollups import AMOUNTS, COUNTERS, HISTS, Cells, cells_for_today
from tickets.models import Queue, Ticket, TicketQuerySet

# Breakdowns a report offers: the rollup's own, plus provider and queue (from the
# queue's totals) and brand (its models' rows added up).
BY_PROVIDER, BY_QUEUE, BY_BRAND = "provider", "queue", "brand"
BREAKDOWNS = (
    BY_PROVIDER,
    BY_QUEUE,
    Dim.TECHNICIAN.value,
    BY_BRAND,
    Dim.MODEL.value,
    Dim.CITY.value,
    Dim.CATEGORY.value,
    Dim.WARRANTY.value,
)
ACTIVE_STATUSES = (Device.Status.ACTIVE, Device.Status.IN_REPAIR)
DAYS_PER_MONTH = 365.25 / 12


@dataclass
class Figures:
    """Counts of one group of a report and what is worked out from them."""

    key: str = ""
    label: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNTS, Decimal(0)))
    hists: dict[str, dict[str, int]] = field(default_factory=lambda: {h: {} for h in HISTS})
    active_terminals: int | None = None
    months: float = 1.0

    def add_counts(self, row: dict) -> None:
        for name in COUNTERS:
            self.counts[name] += int(row.get(name) or 0)
        for name in AMOUNTS:
            self.amounts[name] += Decimal(row.get(name) or 0)

    def add(self, other: Figures) -> None:
        self.add_counts({**other.counts, **other.amounts})
        for name in HISTS:
            buckets.merge(self.hists[name], other.hists[name])

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts")
        if counts is not None and name in counts:
            return counts[name]
        raise AttributeError(name)

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    @property
    def first_response_median(self) -> float | None:
        return buckets.percentile(self.hists["first_response_hist"], 0.5)

    @property
    def first_response_p90(self) -> float | None:
        return buckets.percentile(self.hists["first_response_hist"], 0.9)

    @property
    def resolution_median(self) -> float | None:
        return buckets.percentile(self.hists["resolution_hist"], 0.5)

    @property
    def resolution_p90(self) -> float | None:
        return buckets.percentile(self.hists["resolution_hist"], 0.9)

    @property
    def sla_compliance(self) -> float | None:
        return self._share(
            self.counts["sla_met"], self.counts["sla_met"] + self.counts["sla_breached"]
        )

    @property
    def reopen_rate(self) -> float | None:
        return self._share(self.counts["reopened"], self.counts["resolved"])

    @property
    def rating_average(self) -> float | None:
        rated = self.counts["rated"]
        return round(self.counts["rating_sum"] / rated, 2) if rated else None

    @property
    def rating_distribution(self) -> list[tuple[int, int]]:
        return [(n, self.counts[f"rating_{n}"]) for n in range(1, 6)]

    @property
    def deflection_rate(self) -> float | None:
        d = self.counts["deflected"]
        return self._share(d, d + self.counts["filed"])

    @property
    def warranty_share(self) -> float | None:
        return self._share(self.counts["warranty_free"], self.counts["filed"])

    @property
    def paid_share(self) -> float | None:
        return self._share(self.counts["paid"], self.counts["filed"])

    @property
    def quote_acceptance(self) -> float | None:
        a, d = self.counts["quotes_accepted"], self.counts["quotes_declined"]
        return self._share(a, a + d)

    @property
    def downtime_hours(self) -> float:
        return round(self.counts["downtime_minutes"] / 60, 1)

    @property
    def downtime_hours_per_ticket(self) -> float | None:
        n = self.counts["downtime_tickets"]
        return round(self.counts["downtime_minutes"] / 60 / n, 2) if n else None

    @property
    def failures_per_100(self) -> float | None:
        """Faults filed per 100 active terminals per month (models and brands)."""
        if not self.active_terminals:
            return None
        return round(self.counts["filed_faults"] * 100 / self.active_terminals / self.months, 2)


@dataclass
class Report:
    provider: Provider | None
    start: date
    end: date
    by: str
    total: Figures
    groups: list[Figures]
    daily: list[tuple[date, int, int, int]]  # day, filed, resolved, backlog at its end
    open_now: int


def _sums() -> dict:
    return {name: Sum(name) for name in (*COUNTERS, *AMOUNTS)}


def _group_field(by: str) -> str:
    return {BY_PROVIDER: "provider_id", BY_QUEUE: "queue_id"}.get(by, "key")


def _dim_for(by: str) -> str:
    if by in (BY_PROVIDER, BY_QUEUE):
        return Dim.ALL
    if by == BY_BRAND:
        return Dim.MODEL
    return by


def _hists(where_sql: str, params: list, group_sql: str) -> dict[str, dict[str, dict[str, int]]]:
    """{group: {hist name: {bucket: count}}} summed in the database."""
    parts = []
    all_params: list = []
    for name in HISTS:
        parts.append(
            f"SELECT {group_sql} AS g, '{name}' AS h, b.key AS k, SUM(b.value::int) AS n "  # noqa: S608 - fixed names
            f"FROM reports_dayrollup r CROSS JOIN LATERAL jsonb_each_text(r.{name}) b "
            f"WHERE {where_sql} GROUP BY 1, 3"
        )
        all_params.extend(params)
    out: dict[str, dict[str, dict[str, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), all_params)
        for group, hist, key, n in cursor.fetchall():
            out.setdefault(str(group), {h: {} for h in HISTS})[hist][key] = int(n)
    return out


def build(provider: Provider | None, start: date, end: date, by: str) -> Report:
    today = timezone.localdate()
    last_built = min(end, today - timedelta(days=1))
    dim = _dim_for(by)
    group_field = _group_field(by)
    rows = DayRollup.objects.filter(day__gte=start, day__lte=last_built)
    if provider is not None:
        rows = rows.filter(provider=provider)

    # Sums: the totals ("*", from the `all` rows) and the groups, in one query.
    group_expr = Case(
        When(dim=Dim.ALL, then=Value("*"))
        if dim != Dim.ALL
        else When(pk__isnull=True, then=Value("")),
        default=Cast(F(group_field), CharField()),
        output_field=CharField(),
    )
    groups: dict[str, Figures] = {}
    total = Figures(key="*")
    summed = rows.filter(dim__in={Dim.ALL, dim}).values(g=group_expr).annotate(**_sums()).order_by()
    for row in summed:
        g = row["g"] or ""
        target = total if g == "*" else groups.setdefault(g, Figures(key=g))
        target.add_counts(row)
        if dim == Dim.ALL:
            total.add_counts(row)

    # Histograms, in one query.
    where = ["r.day >= %s", "r.day <= %s", "r.dim IN (%s, %s)"]
    params: list = [start, last_built, Dim.ALL.value, dim]
    if provider is not None:
        where.append("r.provider_id = %s")
        params.append(provider.pk)
    col = {"provider_id": "r.provider_id::text", "queue_id": "r.queue_id::text"}.get(
        group_field, "r.key"
    )
    group_sql = col if dim == Dim.ALL else f"CASE WHEN r.dim = 'all' THEN '*' ELSE {col} END"
    if last_built >= start:
        for g, hists in _hists(" AND ".join(where), params, group_sql).items():
            g = "" if g == "None" else g
            if dim == Dim.ALL:
                for name in HISTS:
                    buckets.merge(total.hists[name], hists[name])
            target = total if g == "*" else groups.setdefault(g, Figures(key=g))
            if target is total and dim == Dim.ALL:
                continue
            for name in HISTS:
                buckets.merge(target.hists[name], hists[name])

    # Daily filed and ended, from the first day to yesterday (the backlog needs them all).
    daily_rows = {
        row["day"]: row
        for row in DayRollup.objects.filter(
            dim=Dim.ALL,
            day__gte=start,
            day__lt=today,
            **({"provider": provider} if provider else {}),
        )
        .values("day")
        .annotate(filed=Sum("filed"), resolved=Sum("resolved"), ended=Sum("ended"))
        .order_by()
    }

    # Today, live.
    today_counts = {"filed": 0, "resolved": 0, "ended": 0}
    if end >= today:
        cells = cells_for_today(provider.pk if provider else None, {Dim.ALL, dim})
        _add_cells(cells, dim, group_field, total, groups)
        for (_day, _p, _q, cdim, _key), cell in cells.items():
            if cdim == Dim.ALL:
                for name in today_counts:
                    today_counts[name] += cell.counts[name]

    open_now = _open_now(provider)
    daily = _series(start, min(end, today), today, daily_rows, today_counts, open_now)

    months = max(1.0, ((min(end, today) - start).days + 1) / DAYS_PER_MONTH)
    figures = _labelled(by, groups, provider, months)
    total.months = months
    return Report(provider, start, end, by, total, figures, daily, open_now)


def _add_cells(cells: Cells, dim: str, group_field: str, total: Figures, groups: dict) -> None:
    for (_day, provider_id, queue_id, cdim, key), cell in cells.items():
        f = Figures(counts=dict(cell.counts), amounts=dict(cell.amounts), hists=cell.hists)
        if cdim == Dim.ALL:
            total.add(f)
        if cdim != dim:
            continue
        if group_field == "provider_id":
            g = "" if provider_id is None else str(provider_id)
        elif group_field == "queue_id":
            g = "" if queue_id is None else str(queue_id)
        else:
            g = key
        groups.setdefault(g, Figures(key=g)).add(f)


def _open_now(provider: Provider | None) -> int:
    tickets = Ticket.objects.all()
    if provider is not None:
        return tickets.filter(
            status__in=TicketQuerySet.WORK_STATUSES, queue__provider=provider
        ).count()
    return tickets.filter(status__in=TicketQuerySet.OPEN_STATUSES).count()


def _series(
    start: date,
    last: date,
    today: date,
    daily_rows: dict,
    today_counts: dict,
    open_now: int,
) -> list[tuple[date, int, int, int]]:
    """(day, filed, resolved, open at the day's end): the backlog walks back from now,
    taking off what each later day filed and putting back what it ended."""
    by_day = dict(daily_rows)
    by_day[today] = today_counts
    out = []
    backlog = open_now
    day = today
    while day >= start:
        row = by_day.get(day) or {}
        if day <= last:
            out.append((day, int(row.get("filed") or 0), int(row.get("resolved") or 0), backlog))
        backlog -= int(row.get("filed") or 0) - int(row.get("ended") or 0)
        day -= timedelta(days=1)
    out.reverse()
    return out


def _labelled(
    by: str, groups: dict[str, Figures], provider: Provider | None, months: float
) -> list[Figures]:
    keys = [k for k in groups if k not in ("", "*")]
    ids = [int(k) for k in keys if k.isdigit()]
    labels: dict[str, str] = {}
    if by == BY_PROVIDER:
        labels = {
            str(pk): name
            for pk, name in Provider.objects.filter(pk__in=ids).values_list("pk", "name")
        }
    elif by == BY_QUEUE:
        labels = {str(q.pk): str(q) for q in Queue.objects.filter(pk__in=ids).only("name")}
    elif by == Dim.TECHNICIAN:
        labels = {
            str(u.pk): u.get_full_name() or u.get_username()
            for u in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name")
        }
    elif by in (Dim.MODEL, BY_BRAND):
        models = {
            str(m.pk): m
            for m in DeviceModel.objects.filter(pk__in=ids)
            .select_related("brand")
            .only("name", "brand__name")
        }
        active = _active_terminals(provider, models)
        if by == BY_BRAND:
            merged: dict[str, Figures] = {}
            for key, figures in groups.items():
                model = models.get(key)
                brand = model.brand.name if model else ""
                target = merged.setdefault(
                    brand, Figures(key=brand, label=brand, active_terminals=0)
                )
                target.add(figures)
                target.active_terminals += active.get(key, 0)
            for figures in merged.values():
                figures.months = months
            return sorted(merged.values(), key=lambda f: (-f.counts["filed"], f.label))
        labels = {key: str(m) for key, m in models.items()}
        for key, figures in groups.items():
            figures.active_terminals = active.get(key, 0)
            figures.months = months
    elif by == Dim.CATEGORY:
        from tickets.models import Category

        labels = {str(v): str(label) for v, label in Category.choices}
    elif by == Dim.WARRANTY:
        from devices.warranty import WarrantyStatus

        labels = {str(v): str(label) for v, label in WarrantyStatus.choices}
    if by in (BY_PROVIDER, BY_QUEUE):
        labels[""] = str(_("No queue yet (fixed by self-help, or not routed)"))
    for key, figures in groups.items():
        figures.label = labels.get(key, key)
    return sorted(groups.values(), key=lambda f: (-f.counts["filed"], f.label))


def _active_terminals(provider: Provider | None, models: Iterable[str]) -> dict[str, int]:
    devices = Device.objects.filter(status__in=ACTIVE_STATUSES)
    if provider is not None:
        devices = devices.filter(provider=provider)
    return {
        str(model): n
        for model, n in devices.values_list("model_id").annotate(n=Count("id")).order_by()
    }


# The scorecard -------------------------------------------------------------------------


@dataclass
class Standing:
    figures: Figures
    name: str
    own: bool
    ranks: dict[str, int | None]


SCORE_METRICS = (
    ("sla_compliance", True),  # higher is better
    ("downtime_hours_per_ticket", False),
    ("rating_average", True),
    ("reopen_rate", False),
)


def scorecard(start: date, end: date, own: Provider | None) -> list[Standing]:
    """Every active provider ranked on each metric (1 = best; None when it has no data).
    `own` set: a manager's view, where the others are not named (the view words them)."""
    report = build(None, start, end, BY_PROVIDER)
    providers = {str(p.pk): p for p in Provider.objects.filter(active=True).only("name")}
    figures = {f.key: f for f in report.groups if f.key in providers}
    for key in providers:
        figures.setdefault(key, Figures(key=key))
    ranks: dict[str, dict[str, int | None]] = {key: {} for key in figures}
    for metric, higher in SCORE_METRICS:
        valued = [
            (getattr(f, metric), key)
            for key, f in figures.items()
            if getattr(f, metric) is not None
        ]
        valued.sort(key=lambda v: -v[0] if higher else v[0])
        for key in figures:
            ranks[key][metric] = None
        position = 0
        previous = object()
        for n, (value, key) in enumerate(valued, start=1):
            if value != previous:
                position, previous = n, value
            ranks[key][metric] = position
    order = sorted(
        figures,
        key=lambda k: (
            ranks[k]["sla_compliance"] is None,
            ranks[k]["sla_compliance"] or 0,
            providers[k].name,
        ),
    )
    return [
        Standing(
            figures=figures[key],
            name=providers[key].name,
            own=own is not None and key == str(own.pk),
            ranks=ranks[key],
        )
        for key in order
    ]
