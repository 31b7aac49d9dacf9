"""W6, reports (issue 15), and the export figure.

**W6.** A manager of the busiest provider (34 % of the tickets) `GET`s `/reports/` for the
last 90 days, the page a manager opens (broken down by queue), through the real page, 1
client. Target: p99 < 300 ms with at most 15 queries. The same page broken down by model
(the heaviest breakdown: models, their active terminals and failure rates) is a second row.

Before it, the rollups are made ready: built whole when the database has none (a seed
made before reports existed, or a fresh one: `build_all`, timed and printed), else the
days since the last one built (`build_days`). The first technician of the provider is
made its manager (`Membership.manager`), and a staff user `bench-admin` exists for the
export.

**Export.** `bench-admin` downloads the tickets behind the report as CSV
(`/reports/export/tickets.csv`), for the shortest range ending today that holds at least
100,000 tickets (the whole database when it has fewer): time to the last byte, rows
counted in what arrived, and the peak resident memory of the gunicorn process group
during the download (sampled every 50 ms from /proc). Target: 100,000 rows in under
10 s with under 200 MB.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench.loadgen import LOOPBACK, BenchError, Client

W6_LABEL = "W6 reports page"
W6_MODEL_LABEL = "W6 reports, by model"
EXPORT_LABEL = "Export CSV 100k rows"
EXPORT_ROWS = 100_000
ADMIN = "bench-admin"
PAGE_SIZE = 4096


def prepare(meta) -> str:  # noqa: ANN001 - bench.seed.Seeded
    """Rollups ready, a manager and an admin; returns what was done, for the log."""
    from django.contrib.auth.hashers import make_password
    from django.db.models import Max
    from django.utils import timezone

    from bench.seed import PASSWORD
    from devices.models import Membership
    from portal.auth import forget_users
    from portal.models import User
    from reports import rollups
    from reports.models import DayRollup

    managers = Membership.objects.filter(user__username=meta.busiest_provider_techs[0])
    managers.update(manager=True)
    # An .update() sends no post_save: drop the cached users (portal.auth) here, or the
    # server would not see the manager flag for USER_CACHE_SECONDS.
    forget_users(managers.values_list("user_id", flat=True))
    if not User.objects.filter(username=ADMIN).exists():
        User.objects.create(
            username=ADMIN, password=make_password(PASSWORD), is_staff=True, is_superuser=False
        )
    t0 = time.monotonic()
    last = DayRollup.objects.aggregate(last=Max("day"))["last"]
    today = timezone.localdate()
    if last is None:
        rows = rollups.build_all()
        return f"rollups built whole: {rows:,} rows in {time.monotonic() - t0:.1f} s"
    days = [last + timedelta(days=n) for n in range(1, (today - last).days)]
    rows = rollups.build_days(days)
    rollups.touch_today()
    took = time.monotonic() - t0
    return f"rollups brought up to yesterday: {len(days)} day(s), {rows:,} rows in {took:.1f} s"


def report_path(by: str = "queue", days: int = 90) -> str:
    from django.utils import timezone

    end = timezone.localdate()
    start = end - timedelta(days=days - 1)
    return "/reports/?" + urlencode({"start": start, "end": end, "by": by})


def export_path() -> tuple[str, int]:
    """The tickets export for the shortest range ending today with >= EXPORT_ROWS."""
    from django.utils import timezone

    from reports.rollups import local_day
    from tickets.models import Ticket

    end = timezone.localdate()
    nth = (
        Ticket.objects.order_by("-created_at").values_list("created_at", flat=True)[
            EXPORT_ROWS - 1 : EXPORT_ROWS
        ]
    ).first()
    start = (
        local_day(nth) if nth else local_day(Ticket.objects.order_by("created_at")[0].created_at)
    )
    expected = Ticket.objects.filter(
        created_at__gte=timezone.make_aware(
            timezone.datetime.combine(start, timezone.datetime.min.time())
        )
    ).count()
    return "/reports/export/tickets.csv?" + urlencode({"start": start, "end": end}), expected


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def download(
    client: Client, path: str, pids: Callable[[], list[int]]
) -> tuple[float, int, int, float, float]:
    """(seconds, status, rows, peak RSS MB of the worker that served it, its RSS before).

    Every gunicorn process is sampled every 50 ms; the one whose RSS grew most served it."""
    before = {pid: rss_mb(pid) for pid in pids()}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in pids():
                peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection(LOOPBACK, client.port, timeout=120)
    headers = {
        "Host": f"{LOOPBACK}:{client.port}",
        "X-Forwarded-Proto": "https",
        "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
    }
    t0 = time.monotonic()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        lines = 0
        while True:
            chunk = response.read(PAGE_SIZE * 16)
            if not chunk:
                break
            lines += chunk.count(b"\n")
        seconds = time.monotonic() - t0
    finally:
        done.set()
        sampler.join()
        conn.close()
    served = max(peak, key=lambda pid: peak[pid] - before.get(pid, 0.0), default=0)
    return (
        seconds,
        response.status,
        max(0, lines - 1),
        peak.get(served, 0.0),
        before.get(served, 0.0),
    )


def run(bench, row: type, measure_queries: Callable, group_pids: Callable) -> None:  # noqa: ANN001
    print(f"  W6: {prepare(bench.meta)}")
    manager = bench.meta.busiest_provider_techs[0]
    clients = bench.logged_in([manager])
    for label, path in ((W6_LABEL, report_path("queue")), (W6_MODEL_LABEL, report_path("model"))):
        why = bench.probe(clients[0], path)
        if why:
            bench.skip(label, 1, why)
            continue
        _status, queries, sql_ms = measure_queries(manager, path, show=bench.args.verbose)
        result = bench.phase(f"{label} (1)", clients, _getter(path))
        bench.rows.append(row(label, 1, result, queries, sql_ms, note=path))

    admin = bench.logged_in([ADMIN])[0]
    path, expected = export_path()
    gunicorn = next((p for name, p in bench.cpu.procs.started if name == "gunicorn"), None)

    def pids() -> list[int]:
        return group_pids(gunicorn.pid) if gunicorn else []

    runs = []
    for _n in range(3):
        seconds, status, rows, peak, before = download(admin, path, pids)
        if status != 200 or rows != expected:
            bench.skip(EXPORT_LABEL, 1, f"{path} answered {status} with {rows} rows of {expected}")
            return
        runs.append((seconds, peak, before))
        print(
            f"    export: {rows:,} rows in {seconds:.2f} s, "
            f"serving worker RSS {before:.0f} -> {peak:.0f} MB"
        )
    seconds = sorted(s for s, _p, _b in runs)
    worst_peak = max(p for _s, p, _b in runs)
    out = row(
        EXPORT_LABEL,
        1,
        count=expected,
        p50=seconds[1] * 1000,
        p99=seconds[-1] * 1000,
        note=(
            f"{expected:,} rows; 3 downloads {', '.join(f'{s:.2f}' for s in seconds)} s; "
            f"the serving worker's RSS at most {worst_peak:.0f} MB "
            f"(before: {', '.join(f'{b:.0f}' for _s, _p, b in runs)} MB)"
        ),
    )
    out.target_text = "< 10 s, < 200 MB"
    out.passed = seconds[-1] < 10 and worst_peak < 200
    bench.rows.append(out)


def _getter(path: str) -> Callable[[Client], None]:
    def action(client: Client) -> None:
        response = client.get(path)
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}")

    return action
