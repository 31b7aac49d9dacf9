"""PosDesk load benchmark: the one command (`make bench` calls it).

Creates and migrates the bench database, seeds it (unless it already holds the asked
number of tickets), collects static files, starts gunicorn and a Celery worker, runs
the workloads W0-W5 and W7 with the load generator in bench/loadgen.py (W5, the outage
burst and the incident fan-out, in bench/w5.py; W7, search, in bench/w7.py), verifies
what W1 and W5 wrote, prints a table, and stops everything it started, by PID,
whatever happens.

    .venv/bin/python bench/run.py --tickets 100000 --duration 30
    .venv/bin/python bench/run.py --only W2,W3 --duration 10
    .venv/bin/python bench/run.py --tickets 1000000 --reseed

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import re
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import (  # noqa: E402
    LOOPBACK,
    BenchError,
    Client,
    Form,
    PhaseResult,
    expect,
    parse_forms,
    percentile,
    run_phase,
)

VENV_BIN = Path(sys.executable).parent
CACHE = ROOT / "bench" / ".cache"
WORKLOADS = ("W0", "W1", "W1E", "W2", "W3", "W4", "W5", "W6", "W7", "W8")

# The targets: workload row -> (what, limit).
TARGETS: dict[str, tuple[str, float]] = {
    "W1 file a ticket": ("tx/s >=", 100),
    "W1 routing latency": ("p99 <", 250),
    "W1E routing latency": ("p99 <", 250),
    "W2 queue page": ("p99 <", 60),
    "W3 ticket page": ("p99 <", 50),
    "W4 ticket list": ("p99 <", 60),
    "W4 device list": ("p99 <", 60),
    "W7 search, Chinese": ("p99 <", 100),
    "W8 API ticket list": ("p99 <", 60),
    "W6 reports page": ("p99 <", 300),
    "W5 route + link latency": ("p99 <", 1000),
}
QUERY_LIMITS = {
    "W2 queue page": 12,
    "W3 ticket page": 15,
    "W8 API ticket list": 8,
    "W6 reports page": 15,
}
# Targets relative to another row of the same run: row -> (the other row, factor of its tx/s).
RELATIVE_TARGETS: dict[str, tuple[str, float]] = {
    "W5 outage burst": ("W1 file a ticket", 0.9),
    "W8 API filing": ("W1 file a ticket", 1.0),
}
# Server CPU (gunicorn + worker + PostgreSQL) per transaction, ms: row -> at most.
CPU_TARGETS: dict[str, float] = {
    "W0 logged-in page": 2,
    "W1 file a ticket": 25,
    "W2 queue page": 20,
    "W3 ticket page": 20,
}
# The CPU columns: CpuMeter's process groups, and "server", the sum of the first three.
CPU_GROUPS = ("gunicorn", "worker", "postgres")


@dataclass
class Row:
    workload: str
    clients: int | str
    result: PhaseResult | None = None
    queries: int | None = None
    sql_ms: float | None = None
    note: str = ""
    p50: float | None = None
    p99: float | None = None
    count: int | None = None
    # A target worked out by the workload itself (W5's is relative to W1's rate).
    target_text: str = ""
    passed: bool | None = None
    run: int = 1  # which repetition made it
    # The machine during the workload that made the row: load_start, load_end, steal.
    machine: dict[str, float | None] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.note.startswith("skipped")

    def cpu_ms(self) -> dict[str, float]:
        """CPU ms per transaction by group (gunicorn, worker, postgres, server, loadgen)."""
        if self.result is None:
            return {}
        return dict(self.result.extra.get("cpu_ms") or {})

    def figures(self) -> dict[str, float | None]:
        """Every number of the row, NaN as None: what the medians are taken of."""
        r = self.result
        if r is not None:
            out = {
                "ok": r.count,
                "errors": r.errors,
                "rate": r.rate,
                "p50": r.pct(50),
                "p95": r.pct(95),
                "p99": r.pct(99),
            }
        else:
            out = {"ok": self.count, "errors": None, "rate": None, "p50": self.p50}
            out.update({"p95": None, "p99": self.p99})
        out.update({"queries": self.queries, "sql_ms": self.sql_ms})
        cpu = self.cpu_ms()
        for name in (*CPU_GROUPS, "server", "loadgen"):
            out[name] = cpu.get(name)
        return {k: (None if v is None or v != v else float(v)) for k, v in out.items()}

    def verdict(self) -> str:
        if self.target_text:
            if self.result is not None and self.result.errors:
                return "FAIL (errors)"
            if self.passed is None:
                return "n/a"
            return "ok" if self.passed else "MISSED"
        target = TARGETS.get(self.workload)
        if target is None or not judged(self.workload, self.clients):
            return ""
        what, limit = target
        if self.result is not None and self.result.errors:
            return "FAIL (errors)"
        if what == "tx/s >=":
            value = self.result.rate if self.result else None
            ok = value is not None and value >= limit
        else:
            value = self.p99 if self.result is None else self.result.pct(99)
            ok = value is not None and value == value and value < limit
        limit_q = QUERY_LIMITS.get(self.workload)
        if limit_q is not None and (self.queries is None or self.queries > limit_q):
            ok = False
        if value is None:
            return "n/a"
        return "ok" if ok else "MISSED"


def judged(workload: str, clients: int | str) -> bool:
    """Whether a target is judged on this row: W2-W8's on the 1-client row, W0's and W1's
    on the 8-client row, the rows read from the database ("-") always."""
    if clients not in (1, 8, "-"):
        return False
    return not (workload.startswith(("W2", "W3", "W4", "W6", "W7", "W8")) and clients != 1)


# --- processes we start -------------------------------------------------------------


class Processes:
    """Every process the bench starts, each in its own session, stopped by its PID."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = log.open("wb")  # one run's log
        proc = subprocess.Popen(  # noqa: S603 - our own fixed command line
            cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        self.started.append((name, proc))
        print(f"  started {name} (pid {proc.pid}), log {log.relative_to(ROOT)}")
        return proc

    def stop_all(self) -> None:
        for name, proc in reversed(self.started):
            if proc.poll() is not None:
                continue
            # The process group is the one start_new_session created for this PID:
            # it holds the master and its workers, and nothing else.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            print(f"  stopped {name} (pid {proc.pid})")
        self.started.clear()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (those gone meanwhile count as 0)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def group_pids(pgid: int) -> list[int]:
    """Every process of the process group a started command leads (master and workers)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def database_pids() -> list[int]:
    """The PostgreSQL backends serving the bench database (gunicorn's and the worker's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


class CpuMeter:
    """CPU seconds spent by gunicorn, the Celery worker, PostgreSQL and the load generator
    between two reads."""

    def __init__(self, procs: Processes) -> None:
        self.procs = procs

    def read(self) -> dict[str, dict[int, float]]:
        """Per group, CPU seconds of each process (a backend that ends between two reads
        drops out of both sides, never making a negative number)."""
        out = {}
        for name, proc in self.procs.started:
            out[name.split()[0]] = {pid: cpu_seconds([pid]) for pid in group_pids(proc.pid)}
        out["postgres"] = {pid: cpu_seconds([pid]) for pid in database_pids()}
        # This process: the load generator's client threads share the same two cores.
        out["loadgen"] = {os.getpid(): cpu_seconds([os.getpid()])}
        return out

    @staticmethod
    def per_tx(before: dict, after: dict, count: int) -> dict[str, float]:
        """CPU ms per transaction of each group, and "server": gunicorn + worker +
        PostgreSQL (empty without transactions)."""
        if count <= 0:
            return {}
        out = {}
        for name, key in (
            ("gunicorn", "gunicorn"),
            ("celery", "worker"),
            ("postgres", "postgres"),
            ("loadgen", "loadgen"),
        ):
            if name not in after:
                continue
            spent = sum(
                seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in after[name].items()
            )
            out[key] = spent * 1000 / count
        out["server"] = sum(out.get(name, 0.0) for name in CPU_GROUPS)
        return out

    @staticmethod
    def describe(cpu_ms: dict[str, float]) -> str:
        if not cpu_ms:
            return ""
        names = [n for n in (*CPU_GROUPS, "server", "loadgen") if n in cpu_ms]
        return "CPU ms per transaction: " + ", ".join(f"{n} {cpu_ms[n]:.1f}" for n in names)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# --- database ------------------------------------------------------------------------


def admin_dsn(database_url: str) -> tuple[str, str]:
    """The maintenance database's URL and the bench database's name."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"odd database name {name!r}")
    return parts._replace(path="/postgres").geturl(), name


def ensure_database(database_url: str, recreate: bool) -> None:
    import psycopg

    dsn, name = admin_dsn(database_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            print(f"Dropping database {name}")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            print(f"Creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def prepare_data(args: argparse.Namespace, env: dict[str, str]):  # noqa: ANN201 - Seeded
    """Migrate; seed unless the database already holds exactly this seed."""
    from django.core.management import call_command
    from django.db import connection

    from bench import w5
    from bench.seed import load_meta, save_meta, seed, seed_outage_shops
    from tickets.models import Ticket

    call_command("migrate", interactive=False, verbosity=0)
    meta = load_meta()
    if meta is not None and meta.tickets == args.tickets and not args.reseed:
        if not meta.outage_shops:
            seed_outage_shops(meta)  # a seed made before W5 existed
            save_meta(meta)
        w5.clean(meta)  # W5's incidents (its tickets go with the rest below)
        stale = Ticket.objects.filter(pk__gt=meta.tickets)
        if stale.exists():
            # Tickets a previous run's W1 filed: back to the seeded state.
            deleted, _ = stale.delete()
            print(f"Removed {deleted} rows left by an earlier W1")
        print(f"Database already holds the {meta.tickets:,}-ticket seed: not re-seeding")
        return meta
    if meta is not None or Ticket.objects.exists():
        connection.close()
        ensure_database(env["DATABASE_URL"], recreate=True)
        call_command("migrate", interactive=False, verbosity=0)
    return seed(args.tickets, args.merchants)


# --- query counts (in-process, against the bench database) -----------------------


def measure_queries(
    username: str, path: str, show: bool = False, explain: int = 0
) -> tuple[int, int, float]:
    """Status, SQL queries and SQL time of one warm request, run in this process."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from portal.models import User

    client = DjangoClient(HTTP_HOST=LOOPBACK)
    if username:
        client.force_login(User.objects.get(username=username))
    client.get(path, secure=True)  # warm: first-use imports and caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, secure=True)
    queries = ctx.captured_queries
    sql_ms = sum(float(q["time"]) for q in queries) * 1000
    if show:
        for q in sorted(queries, key=lambda q: -float(q["time"]))[:5]:
            print(f"      {float(q['time']) * 1000:7.2f} ms  {q['sql'][:220]}")
    if explain:
        slowest = sorted(queries, key=lambda q: -float(q["time"]))[:explain]
        for q in slowest:
            print(explain_analyze(q["sql"]))
    return response.status_code, len(queries), sql_ms


def explain_analyze(sql: str) -> str:
    """The plan PostgreSQL ran for a captured query (a server-side cursor's SELECT too)."""
    from django.db import connection

    sql = re.sub(r"^DECLARE .*? CURSOR .*? FOR ", "", sql, flags=re.S)
    if not sql.lstrip().upper().startswith("SELECT"):
        return f"      (not a SELECT: {sql[:80]})"
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        plan = "\n".join("        " + row[0] for row in cursor.fetchall())
    return f"      EXPLAIN ANALYZE {sql[:300]}\n{plan}"


def profile_view(username: str, path: str, repeat: int = 200) -> str:
    """cProfile of `repeat` in-process requests: where the server's time goes."""
    from django.test import Client as DjangoClient

    from portal.models import User

    client = DjangoClient(HTTP_HOST=LOOPBACK)
    client.force_login(User.objects.get(username=username))
    client.get(path, secure=True)
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        client.get(path, secure=True)
    profiler.disable()
    per_request = (time.perf_counter() - t0) / repeat * 1000
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(30)
    return f"{path}: {per_request:.1f} ms per request in-process (under cProfile)\n{out.getvalue()}"


# --- workloads ---------------------------------------------------------------------

# What a merchant picks when the filing form offers a choice.
PREFERRED = {
    "category": "software",
    "symptom": "frozen",
    "can_take_payments": "degraded",
}
TEXT_VALUES = {
    "phone": "13800138000",
    "description": "Bench: the terminal freezes on the payment screen after a restart.",
    "error": "",
    "card": "",
    "amount": "",
    "txn": "",
    "reference": "",
}


def fill_ticket_form(form: Form) -> dict:
    """A merchant's answers: keep what the page set, choose sensible values elsewhere."""
    data = form.data()
    for f in form.fields.values():
        low = f.name.lower()
        if f.kind == "submit":
            # The button a merchant clicks: file the ticket, not "that fixed it".
            chosen = [o for o in f.options if o not in ("fixed", "cancel")]
            if chosen:
                data[f.name] = chosen[0]
            continue
        if f.kind in ("hidden", "button", "file"):
            continue
        if f.kind in ("select", "radio"):
            options = [o for o in f.options if o != ""]
            preferred = next((v for k, v in PREFERRED.items() if k in low), None)
            if preferred in options:
                data[f.name] = preferred
            elif options and not data.get(f.name):
                data[f.name] = options[0]
        elif f.kind == "checkbox":
            if f.required and not f.checked_values and f.options:
                data[f.name] = [f.options[0]]
        elif not str(data.get(f.name, "")).strip():
            value = next((v for k, v in TEXT_VALUES.items() if k in low), None)
            if value is None:
                value = "bench" if f.required else ""
            data[f.name] = value
    return data


def form_errors(html: str) -> str:
    found = re.findall(r'class="[^"]*invalid-feedback[^"]*"[^>]*>(.*?)</(?:div|span|p)', html, re.S)
    text = " | ".join(re.sub(r"<[^>]+>|\s+", " ", e).strip() for e in found)
    return text[:250] or "form re-shown"


def file_a_ticket(client: Client) -> None:
    """W1's transaction: GET the filing form, POST it; 302 to the new ticket is success.

    The filing page has a step 1 (terminal and kind of fault, a GET form); a client
    answers it once and then, like a merchant who comes back with the same terminal,
    opens the form with those answers in the URL. Each transaction is that GET + POST.
    """
    if client.filing_path is None:
        page = expect(client.get("/tickets/new/"), 200, "GET /tickets/new/")
        start = [f for f in parse_forms(page.text) if f.method.lower() == "get" and f.fields]
        if start and "description" not in start[0].fields:
            query = urlencode(fill_ticket_form(start[0]), doseq=True)
            client.filing_path = f"/tickets/new/?{query}"
        else:
            client.filing_path = "/tickets/new/"
    path = client.filing_path
    page = expect(client.get(path), 200, f"GET {path}")
    forms = [
        f
        for f in parse_forms(page.text)
        if f.method.lower() == "post" and "csrfmiddlewaretoken" in f.fields and len(f.fields) > 2
    ]
    if not forms:
        raise BenchError(f"no filing form on {path}")
    response = client.submit(path, forms[-1], fill_ticket_form(forms[-1]))
    if response.status in (302, 303):
        if "/accounts/login/" in (response.header("Location") or ""):
            raise BenchError("POST sent us to the log-in page")
        client.filed += 1
        return
    if response.status == 200:
        raise BenchError(f"form refused: {form_errors(response.text)}")
    raise BenchError(f"POST {path} answered {response.status}")


# W0's logged-in page: login_required, a static template in the site's layout.
W0_LOGGED_IN_PATH = "/accounts/password/done/"


def write_email_backlog(count: int, batch: int = 25) -> list[int]:
    """`count` e-mails in the outbox to one bench address, sent by `send_emails` tasks
    of `batch` ids each, as a fan-out queues them. Returns their ids."""
    from mail import services as outbox
    from mail.models import OutboundEmail
    from mail.tasks import send_emails
    from portal import broker

    OutboundEmail.objects.filter(kind="bench_backlog").delete()  # an earlier run's
    run = secrets.token_hex(4)
    rows = OutboundEmail.objects.bulk_create(
        [
            outbox.new_email(
                key=f"bench-backlog-{run}-{n}",
                kind="bench_backlog",
                recipient="bench-backlog@example.com",
                subject=f"Bench backlog {n}",
                text="An e-mail of the backlog W1E files tickets behind.\n" * 20,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )
    ids = [row.pk for row in rows]
    for start in range(0, len(ids), batch):
        broker.publish(send_emails, ids[start : start + batch])
    return ids


def getter(path: str) -> Callable[[Client], None]:
    def action(client: Client) -> None:
        response = client.get(path)
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}")

    return action


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        port: int | None,
        meta,  # noqa: ANN001
        cpu: CpuMeter | None = None,
    ) -> None:
        self.args, self.port, self.meta, self.cpu = args, port, meta, cpu
        self.sessions: dict[str, Client] = {}
        self.rows: list[Row] = []
        self.w1_rate: float | None = None  # W5's target is relative to it
        self.run_index = 1  # the repetition under way (--repeat)

    def logged_in(self, usernames: list[str]) -> list[Client]:
        """Clients logged in through the real form; a session is reused across phases."""
        from bench.seed import PASSWORD

        todo = [u for u in usernames if u not in self.sessions]
        errors: list[str] = []

        def login(username: str) -> None:
            client = Client(self.port)
            try:
                client.login(username, PASSWORD)
                self.sessions[username] = client
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{username}: {exc}")

        threads = [threading.Thread(target=login, args=(u,)) for u in todo]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise BenchError("log-in failed: " + "; ".join(errors))
        return [self.sessions[u] for u in usernames]

    def probe(self, client: Client, path: str) -> str | None:
        """None when the page answers 200; otherwise why the workload is skipped."""
        try:
            response = client.get(path)
        except OSError as exc:
            return f"{path}: {exc}"
        if response.status != 200:
            return f"{path} answers {response.status} (page not built yet?)"
        return None

    def phase(
        self, label: str, clients: list[Client], action: Callable[[Client], None], **kw: object
    ) -> PhaseResult:
        duration = kw.pop("duration", self.args.duration)
        print(f"  {label}: {len(clients)} client(s), {duration:g} s ...", flush=True)
        before = self.cpu.read() if self.cpu else {}
        result = run_phase(label, clients, action, duration=duration, **kw)
        if self.cpu:
            result.extra["cpu_before"] = before
            result.extra["cpu_ms"] = CpuMeter.per_tx(before, self.cpu.read(), result.total)
            print(f"    {CpuMeter.describe(result.extra['cpu_ms'])}")
        print(
            f"    {result.count} ok, {result.errors} errors, {result.rate:.1f}/s, "
            f"p50 {result.pct(50):.1f} ms, p99 {result.pct(99):.1f} ms"
        )
        for sample in result.error_samples:
            print(f"    error: {sample}")
        return result

    def skip(self, workload: str, clients: int | str, why: str) -> None:
        print(f"  {workload}: skipped: {why}")
        self.rows.append(Row(workload, clients, note=f"skipped: {why}"))

    def w0(self) -> None:
        """The machine's ceiling: the log-in page anonymously, then a trivial page logged in
        (W1's merchants, logged in through the form; the session and user look-ups every
        logged-in page makes, a template with the site's layout)."""
        clients = [Client(self.port) for _ in range(self.args.clients)]
        result = self.phase("W0 ceiling", clients, getter("/accounts/login/"))
        for client in clients:
            client.close()
        self.rows.append(Row("W0 ceiling", len(clients), result, note="anonymous GET log-in page"))
        label, path = "W0 logged-in page", W0_LOGGED_IN_PATH
        clients = self.logged_in(self.meta.w1_users[: self.args.clients])
        why = self.probe(clients[0], path)
        if why:
            self.skip(label, len(clients), why)
            return
        result = self.phase(label, clients, getter(path))
        self.rows.append(Row(label, len(clients), result, note=f"a merchant GETs {path}"))

    def w1(self) -> None:
        self.filing("W1")

    def w1e(self) -> None:
        """W1 while the worker sends a backlog of e-mails: routing must not wait for them
        (issue 18's routing latency target holds 'also while a backlog of e-mails is
        being sent'). The backlog is written to the outbox and its `send_emails` tasks
        queued just before the clients start, as a fan-out or a digest run would."""
        from mail.models import OutboundEmail

        backlog = write_email_backlog(self.args.email_backlog)
        pending = OutboundEmail.objects.filter(pk__in=backlog, status="pending")
        self.filing(
            "W1E",
            after_phase=lambda: (
                f"{pending.count()} of {len(backlog)} "
                "backlog e-mails still pending when the clients stopped"
            ),
        )
        left = pending.count()
        print(f"    e-mail backlog: {len(backlog) - left} of {len(backlog)} sent")

    def filing(self, name: str, after_phase: Callable[[], str] | None = None) -> None:
        from django.db.models import Max

        from tickets.models import Ticket

        label = f"{name} file a ticket"
        users = self.meta.w1_users[: self.args.clients]
        clients = self.logged_in(users)
        why = self.probe(clients[0], "/tickets/new/")
        for client in clients:
            client.filing_path = None
        if why:
            self.skip(label, len(clients), why)
            return
        for client in clients:
            client.filed = 0
        first_id = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        result = self.phase(label, clients, file_a_ticket)
        during = after_phase() if after_phase else ""
        filed = sum(c.filed for c in clients)
        # Verify: every accepted POST is a ticket in the database, and each gets routed.
        mine = Ticket.objects.filter(pk__gte=first_id)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and mine.filter(routed_at__isnull=True).exists():
            time.sleep(0.5)
        in_db = mine.count()
        routed = mine.filter(routed_at__isnull=False).exclude(queue=None).count()
        with_event = mine.filter(events__kind="routed").distinct().count()
        latencies = sorted(
            (t.routed_at - t.created_at).total_seconds() * 1000
            for t in mine.filter(routed_at__isnull=False).only("created_at", "routed_at")
        )
        check = (
            f"{in_db} in DB for {filed} accepted POSTs, {routed} routed, {with_event} routed events"
        )
        ok = filed > 0 and in_db == filed and routed == in_db and with_event == in_db
        print(f"    verify: {check} -> {'ok' if ok else 'MISMATCH'}")
        if self.cpu:
            self.cpu_until_worker_idle(result, filed)
        if name == "W1":
            self.w1_rate = result.rate if ok and not result.errors else None
        self.rows.append(
            Row(
                label,
                len(clients),
                result,
                note=("verified: " if ok else "CHECK: ")
                + check
                + (f"; {during}" if during else ""),
            )
        )
        row = Row(f"{name} routing latency", "-", note="created_at -> routed_at, from the database")
        if latencies:
            row.p50, row.p99, row.count = (
                percentile(latencies, 50),
                percentile(latencies, 99),
                len(latencies),
            )
        else:
            row.note = "no ticket was routed (is the route_ticket task built?)"
        self.rows.append(row)

    def cpu_until_worker_idle(self, result: PhaseResult, transactions: int) -> None:
        """The worker goes on after the clients stop (routing, then e-mails): count its
        CPU until it has been idle for two seconds, and divide by the transactions."""
        drain_from = time.monotonic()
        last = self.wait_worker_idle(limit=600)
        result.extra["cpu_ms"] = CpuMeter.per_tx(result.extra["cpu_before"], last, transactions)
        drained = time.monotonic() - drain_from
        cpu = CpuMeter.describe(result.extra["cpu_ms"])
        print(f"    {cpu} (worker drained {drained:.0f} s after the check)")

    def w5(self) -> None:
        """The outage burst, then the fan-out (bench/w5.py)."""
        from django.db.models import Max

        from bench import w5
        from bench.seed import OUTAGE_CITY
        from tickets.models import Ticket

        print(f"  W5: clean state: {w5.clean(self.meta)}")
        shops = w5.shops_of(OUTAGE_CITY)
        if not shops:
            self.skip("W5 outage burst", self.args.clients, f"no shops in {OUTAGE_CITY}")
            return
        w5.log_in(shops)
        clients = [Client(self.port) for _ in range(self.args.clients)]
        rotation = w5.Rotation(shops, len(clients))
        first_id = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        result = self.phase("W5 outage burst", clients, w5.action_for(rotation))
        for client in clients:
            client.close()
        filed = sum(shop.filed for shop in shops)
        check = w5.check_burst(self.meta, first_id, filed)
        print(
            f"    verify: {check.describe()} (waited {check.waited_s:.1f} s) -> "
            f"{'ok' if check.ok else 'MISMATCH'}"
        )
        if self.cpu:
            self.cpu_until_worker_idle(result, filed)
        ratio = result.rate / self.w1_rate if self.w1_rate else None
        rate_note = (
            f"W1 {self.w1_rate:.1f} tx/s, W5 {result.rate:.1f} tx/s: W5/W1 = {ratio:.2f}"
            if ratio is not None
            else "no verified W1 in this run to compare with (run W1 and W5 together)"
        )
        print(f"    {rate_note}")
        repeats = max(shop.filed for shop in shops)
        self.rows.append(
            Row(
                "W5 outage burst",
                len(clients),
                result,
                note=f"{rate_note}; {len(shops)} shops, up to {repeats} filings each",
                target_text="tx/s >= 0.9 x W1"
                + (f" ({0.9 * self.w1_rate:.1f})" if self.w1_rate else ""),
                passed=None if ratio is None else ratio >= 0.9,
            )
        )
        latency = Row(
            "W5 route + link latency",
            "-",
            note="ticket created_at -> IncidentTicket.linked_at, from the database",
            target_text="p99 < 1000",
        )
        if check.latencies_ms:
            latency.p50 = percentile(check.latencies_ms, 50)
            latency.p99 = percentile(check.latencies_ms, 99)
            latency.count = len(check.latencies_ms)
            latency.passed = latency.p99 < 1000
        self.rows.append(latency)
        self.rows.append(
            Row(
                "W5 one incident, all linked",
                "-",
                count=check.linked,
                note=("verified: " if check.ok else "CHECK: ") + check.describe(),
                target_text="1 incident, every ticket",
                passed=check.ok,
            )
        )
        self.w5_fan_out()

    def w5_fan_out(self) -> None:
        from bench import w5

        n, small = w5.FAN_OUT_TICKETS, w5.FAN_OUT_SMALL
        q_small, _s = w5.count_fan_out_queries(self.meta, small)
        q_large, in_process = w5.count_fan_out_queries(self.meta, n)
        print(
            f"  W5 fan-out queries in-process: {q_small} for {small} tickets, {q_large} for "
            f"{n} ({in_process * 1000:.0f} ms in-process for {n})"
        )
        runs = []
        for k in range(self.args.fan_out_runs):
            if self.cpu:
                self.wait_worker_idle()
            run = w5.fan_out_by_worker(self.meta, self.cpu.read if self.cpu else None)
            cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in run.cpu.items())
            print(
                f"  W5 fan-out {k + 1}: {run.wall_ms:.0f} ms wall ({run.task_ms:.0f} ms update "
                f"-> fanned out, database clock), reached {run.reached}, {run.events} events, "
                f"{run.emails} e-mails to {run.shops} shops; CPU ms: {cpu}"
            )
            runs.append(run)
        walls = sorted(r.wall_ms for r in runs)
        complete = all(r.reached == r.events == r.emails == r.shops == n for r in runs)
        cpu_names = runs[0].cpu.keys() if runs else []
        cpu_note = "; ".join(
            f"{name} {w5.spread([r.cpu[name] for r in runs])}"
            for name in cpu_names
            if name != "gunicorn"
        )
        note = (
            f"{len(runs)} runs, wall ms {w5.spread(walls)}; queries {q_small} for {small} "
            f"tickets, {q_large} for {n}; "
            + ("each reached every ticket, 1 e-mail per shop" if complete else "INCOMPLETE")
            + (f"; CPU ms per fan-out: {cpu_note}" if cpu_note else "")
        )
        self.rows.append(
            Row(
                f"W5 fan-out {n} tickets",
                "-",
                queries=q_large,
                count=len(runs),
                p50=statistics.median(walls) if walls else None,
                p99=walls[-1] if walls else None,
                note=note,
                target_text="< 10000 ms (all runs), fixed q",
                passed=bool(runs) and complete and walls[-1] < 10000 and q_small == q_large,
            )
        )

    def wait_worker_idle(self, idle: float = 2, limit: float = 300) -> dict:
        """Until the worker has used no CPU for `idle` seconds (e-mails of earlier work);
        the last CPU read."""
        last, idle_since, deadline = self.cpu.read(), time.monotonic(), time.monotonic() + limit
        while time.monotonic() < deadline and time.monotonic() - idle_since < idle:
            time.sleep(0.5)
            now = self.cpu.read()
            busy = sum(now.get("celery", {}).values()) - sum(last.get("celery", {}).values())
            if busy > 0.02:
                idle_since = time.monotonic()
            last = now
        return last

    def read_workload(
        self, workload: str, usernames: list[str], path: str, client_counts: tuple[int, ...]
    ) -> None:
        if self.port is None:  # --queries-only: no server, just the SQL of one request
            status, queries, sql_ms = measure_queries(
                usernames[0], path, show=True, explain=self.args.explain
            )
            note = path if status == 200 else f"{path} answered {status}"
            self.rows.append(Row(workload, "-", None, queries, sql_ms, note=note))
            print(f"  {workload}: {queries} queries, {sql_ms:.1f} ms SQL ({note})")
            return
        clients = self.logged_in(usernames[: max(client_counts)])
        why = self.probe(clients[0], path)
        if why:
            self.skip(workload, client_counts[0], why)
            return
        _status, queries, sql_ms = measure_queries(
            usernames[0], path, show=self.args.verbose, explain=self.args.explain
        )
        for n in client_counts:
            result = self.phase(f"{workload} ({n})", clients[:n], getter(path))
            self.rows.append(Row(workload, n, result, queries, sql_ms, note=path))
        if workload.split()[0] in self.args.profile and self.run_index == 1:
            report = profile_view(usernames[0], path)
            print(report)
            CACHE.mkdir(exist_ok=True)
            (CACHE / f"profile-{workload.split()[0]}.txt").write_text(report)

    def profile_only(self) -> None:
        pages = {
            "W2": (self.meta.busiest_provider_techs[0], self.w2_path()),
            "W3": (self.meta.busiest_provider_techs[0], self.w3_path()),
            "W4": (self.meta.big_merchant_user, "/tickets/"),
        }
        for workload in self.args.profile:
            if workload in pages:
                print(profile_view(*pages[workload], repeat=50))

    def w2_path(self) -> str:
        return f"/work/queues/{self.meta.busiest_queue_id}/"

    def w3_path(self) -> str:
        return f"/work/tickets/{self.meta.w3_reference}/"

    def w2(self) -> None:
        techs = self.meta.busiest_provider_techs
        path = self.w2_path()
        self.read_workload("W2 queue page", techs, path, (1, 4))

    def w3(self) -> None:
        path = self.w3_path()
        self.read_workload("W3 ticket page", self.meta.busiest_provider_techs, path, (1,))

    def w7(self) -> None:
        """Technician search on Chinese text (bench/w7.py)."""
        from bench import w7

        w7.run(self, Row, measure_queries)

    def w6(self) -> None:
        """Reports: the manager's /reports/ over 90 days, and the export (bench/w6.py)."""
        from bench import w6

        w6.run(self, Row, measure_queries, group_pids)

    def w8(self) -> None:
        """The REST API: a technician's ticket list with a key, and filing (bench/w8.py)."""
        from bench import w8

        w8.run(self, Row, measure_queries)

    def w4(self) -> None:
        user = [self.meta.big_merchant_user]
        self.read_workload("W4 ticket list", user, "/tickets/", (1,))
        self.read_workload("W4 device list", user, "/devices/", (1,))


# --- the table: medians and spreads over the repetitions ---------------------------

# The figures of a row, as Row.figures names them; the table shows their medians.
FIGURES = (
    "ok",
    "errors",
    "rate",
    "p50",
    "p95",
    "p99",
    "queries",
    "sql_ms",
    *CPU_GROUPS,
    "server",
    "loadgen",
)
STEAL_WARNING = 5.0  # % of CPU time stolen by the hypervisor during a workload
LOAD_WARNING = 2.0  # load average at a workload's start, per CPU


def fmt(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


@dataclass
class Summary:
    """One row of the table over the repetitions: the row each run made, by run."""

    workload: str
    clients: int | str
    rows: list[Row]

    def ran(self) -> list[Row]:
        return [r for r in self.rows if not r.skipped]

    def values(self, name: str) -> list[float]:
        """The figure of every run that has it (a skipped run, a NaN have none)."""
        return [v for r in self.ran() if (v := r.figures()[name]) is not None]

    def median(self, name: str) -> float | None:
        values = self.values(name)
        return statistics.median(values) if values else None

    def spread(self, name: str) -> tuple[float, float] | None:
        values = self.values(name)
        return (min(values), max(values)) if values else None

    def errors(self) -> int | None:
        """Errors over every run (any error fails the target, whatever the median)."""
        values = self.values("errors")
        return int(sum(values)) if values else None

    def cell(self, name: str, digits: int = 1) -> str:
        """`median (min–max)`; the median alone when one run has the figure, or all agree."""
        values = self.values(name)
        if not values:
            return "-"
        median = fmt(statistics.median(values), digits)
        low, high = fmt(min(values), digits), fmt(max(values), digits)
        return median if low == high else f"{median} ({low}–{high})"

    def as_json(self, summaries: list[Summary]) -> dict:
        target, result = judge(self, summaries)
        figures = {}
        for name in FIGURES:
            spread = self.spread(name)
            if spread is not None:
                figures[name] = {"median": self.median(name), "min": spread[0], "max": spread[1]}
        figures["errors"] = self.errors()
        return {
            "workload": self.workload,
            "clients": self.clients,
            "runs": [r.run for r in self.ran()],
            "figures": figures,
            "target": target,
            "result": result,
        }


def summarize(runs: list[list[Row]]) -> list[Summary]:
    """The rows of every run grouped by (workload, clients), in the order they first came."""
    out: dict[tuple[str, int | str], Summary] = {}
    for rows in runs:
        for row in rows:
            key = (row.workload, row.clients)
            if key not in out:
                out[key] = Summary(row.workload, row.clients, [])
            out[key].rows.append(row)
    return list(out.values())


def judge(s: Summary, summaries: list[Summary]) -> tuple[str, str]:
    """(target, result) of a row of the table, judged on its median row.

    Any error in any run fails, as does a run whose check failed (note `CHECK:`). The
    targets of TARGETS, QUERY_LIMITS and RELATIVE_TARGETS are judged on the medians (W5's
    and W8's rate against the median of W1's). A target a workload judges itself from
    figures the table does not hold (W5's one incident and its fan-outs, the export) must
    have been met in every run."""
    ran = s.ran()
    if not ran:
        return "", s.rows[-1].note
    text, result = _judge(s, ran, summaries)
    if result and len(ran) < len(s.rows):
        result += f" ({len(ran)} of {len(s.rows)} runs)"
    return text, result


def _judge(s: Summary, ran: list[Row], summaries: list[Summary]) -> tuple[str, str]:
    target = TARGETS.get(s.workload) if judged(s.workload, s.clients) else None
    relative = RELATIVE_TARGETS.get(s.workload)
    base_rate = None
    if relative is not None:
        other, factor = relative
        base = next((o for o in summaries if o.workload == other and o.values("rate")), None)
        base_rate = base.median("rate") if base else None
        text = f"tx/s >= {factor:g} x {other.split()[0]}"
        if base_rate is not None:
            text += f" ({factor * base_rate:.1f})"
    elif target is not None:
        text = f"{target[0]} {target[1]:g}"
        if s.workload in QUERY_LIMITS:
            text += f", <= {QUERY_LIMITS[s.workload]} q"
    elif any(r.target_text for r in ran):
        text = next(r.target_text for r in reversed(ran) if r.target_text)
    else:
        return "", ""
    if s.errors():
        return text, "FAIL (errors)"
    checks = [str(r.run) for r in ran if r.note.startswith("CHECK")]
    if checks:
        return text, f"FAIL (check, run {', '.join(checks)})"
    if relative is not None:
        rate = s.median("rate")
        if base_rate is None or rate is None:
            return text, "n/a"
        return text, "ok" if rate >= relative[1] * base_rate else "MISSED"
    if target is not None:
        what, limit = target
        value = s.median("rate" if what == "tx/s >=" else "p99")
        if value is None:
            return text, "n/a"
        ok = value >= limit if what == "tx/s >=" else value < limit
        limit_q = QUERY_LIMITS.get(s.workload)
        queries = s.median("queries")
        if limit_q is not None and (queries is None or queries > limit_q):
            ok = False
        return text, "ok" if ok else "MISSED"
    if any(r.passed is None for r in ran):
        return text, "n/a"
    missed = [str(r.run) for r in ran if not r.passed]
    return text, f"MISSED (run {', '.join(missed)})" if missed else "ok"


def cpu_verdicts(summaries: list[Summary]) -> list[tuple[Summary, float, str]]:
    """CPU_TARGETS judged on the median of server CPU ms per transaction, on the row the
    workload's latency target is judged on (W0 and W1 with 8 clients, W2 and W3 with 1)."""
    out = []
    for s in summaries:
        limit = CPU_TARGETS.get(s.workload)
        if limit is None or not judged(s.workload, s.clients) or not s.ran():
            continue
        server = s.median("server")
        if server is None:
            verdict = "n/a"
        elif s.errors():
            verdict = "FAIL (errors)"
        else:
            verdict = "ok" if server <= limit else "MISSED"
        out.append((s, limit, verdict))
    return out


def markdown(head: list[str], lines: list[list[object]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in line) + " |" for line in lines]
    return "\n".join(out)


def table(summaries: list[Summary]) -> str:
    """The headline table: per row, the median over the runs with (min–max)."""
    head = [
        "workload",
        "clients",
        "ok",
        "errors",
        "tx/s",
        "p50 ms",
        "p99 ms",
        "gunicorn CPU ms",
        "worker CPU ms",
        "PostgreSQL CPU ms",
        "server CPU ms",
        "queries",
        "SQL ms",
        "target",
        "result",
    ]
    lines = []
    for s in summaries:
        target, result = judge(s, summaries)
        errors = s.errors()
        lines.append(
            [
                s.workload,
                s.clients,
                fmt(s.median("ok"), 0),
                "-" if errors is None else errors,
                s.cell("rate"),
                s.cell("p50"),
                s.cell("p99"),
                *(s.cell(name) for name in (*CPU_GROUPS, "server")),
                s.cell("queries", 0),
                s.cell("sql_ms"),
                target,
                result,
            ]
        )
    return markdown(head, lines)


def cpu_table(summaries: list[Summary]) -> str:
    head = ["workload", "clients", "server CPU ms per tx", "target", "result"]
    lines = [
        [s.workload, s.clients, s.cell("server"), f"<= {limit:g} ms", verdict]
        for s, limit, verdict in cpu_verdicts(summaries)
    ]
    return markdown(head, lines) if lines else ""


def runs_table(summaries: list[Summary]) -> str:
    """Every run's row, the runs of a workload next to each other, with the machine."""
    head = [
        "workload",
        "clients",
        "run",
        "ok",
        "errors",
        "tx/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "gunicorn",
        "worker",
        "PostgreSQL",
        "server",
        "loadgen",
        "load start",
        "load end",
        "steal %",
        "result",
    ]
    lines = []
    for s in summaries:
        for r in s.rows:
            f, m = r.figures(), r.machine
            lines.append(
                [
                    s.workload,
                    s.clients,
                    r.run,
                    fmt(f["ok"], 0),
                    fmt(f["errors"], 0),
                    fmt(f["rate"]),
                    fmt(f["p50"]),
                    fmt(f["p95"]),
                    fmt(f["p99"]),
                    *(fmt(f[name]) for name in (*CPU_GROUPS, "server", "loadgen")),
                    fmt(m.get("load_start"), 2),
                    fmt(m.get("load_end"), 2),
                    fmt(m.get("steal")),
                    r.note if r.skipped else r.verdict(),
                ]
            )
    return markdown(head, lines)


def notes(summaries: list[Summary]) -> list[str]:
    """Each row's note (once when every run wrote the same), and the load generator's CPU."""
    out = []
    for s in summaries:
        name = f"{s.workload} ({s.clients})"
        texts = [r.note for r in s.ran() if r.note]
        if len(set(texts)) == 1:
            out.append(f"  {name}: {texts[0]}")
        else:
            out += [f"  {name}, run {r.run}: {r.note}" for r in s.ran() if r.note]
        if s.values("loadgen"):
            out.append(f"  {name}: loadgen (this runner) CPU ms per tx {s.cell('loadgen')}")
    return out


# --- the machine during the run ----------------------------------------------------


def cpu_times(stat: str) -> list[int]:
    """The aggregate `cpu` line of /proc/stat, in clock ticks: user nice system idle iowait
    irq softirq steal (guest guest_nice)."""
    for line in stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            return [int(x) for x in fields[1:]]
    raise ValueError("no 'cpu' line in /proc/stat")


def steal_percent(before: list[int], after: list[int]) -> float | None:
    """% of the CPU time between two samples that the hypervisor gave to other guests.

    The total is the first eight fields: guest and guest_nice are already counted in user
    and nice. None when no time passed (or the kernel has no steal field)."""
    if len(before) < 8 or len(after) < 8:
        return None
    delta = [a - b for a, b in zip(after[:8], before[:8], strict=True)]
    total = sum(delta)
    if total <= 0:
        return None
    return 100 * delta[7] / total


def machine_sample() -> tuple[float, list[int]]:
    """The 1-minute load average and /proc/stat's cpu line, now."""
    return os.getloadavg()[0], cpu_times(Path("/proc/stat").read_text())


def machine_state(
    run: int, workload: str, start: tuple[float, list[int]], end: tuple[float, list[int]]
) -> dict:
    return {
        "run": run,
        "workload": workload,
        "load_start": start[0],
        "load_end": end[0],
        "steal": steal_percent(start[1], end[1]),
    }


def machine_summary(samples: list[dict], summaries: list[Summary], cores: int) -> dict:
    """The machine over the whole run: load range, steal, W0 of each run, the warnings."""
    loads = [m[k] for m in samples for k in ("load_start", "load_end") if m[k] is not None]
    steals = [m["steal"] for m in samples if m["steal"] is not None]
    w0 = {}
    for s in summaries:
        if s.workload.startswith("W0") and s.values("rate"):
            w0[f"{s.workload} ({s.clients})"] = {r.run: r.figures()["rate"] for r in s.ran()}
    warnings = []
    stolen = [m for m in samples if m["steal"] is not None and m["steal"] > STEAL_WARNING]
    if stolen:
        worst = max(stolen, key=lambda m: m["steal"])
        warnings.append(
            f"WARNING: CPU steal above {STEAL_WARNING:g} % during {len(stolen)} of "
            f"{len(samples)} workloads (max {worst['steal']:.1f} %, {worst['workload']} of "
            f"run {worst['run']}): the hypervisor gave this machine's CPU to others; "
            "those figures are not comparable"
        )
    busy = [m for m in samples if (m["load_start"] or 0) > LOAD_WARNING * cores]
    if busy:
        worst = max(busy, key=lambda m: m["load_start"])
        warnings.append(
            f"WARNING: load average above {LOAD_WARNING:g} x {cores} CPUs at the start of "
            f"{len(busy)} of {len(samples)} workloads (max {worst['load_start']:.2f}, "
            f"{worst['workload']} of run {worst['run']}): the machine was busy with other work"
        )
    return {
        "cpus": cores,
        "load_min": min(loads) if loads else None,
        "load_max": max(loads) if loads else None,
        "steal_median": statistics.median(steals) if steals else None,
        "steal_max": max(steals) if steals else None,
        "w0_rate_per_run": w0,
        "warnings": warnings,
        "samples": samples,
    }


def machine_lines(machine: dict) -> list[str]:
    out = [
        f"{machine['cpus']} CPUs; load average (1 min) {fmt(machine['load_min'], 2)}–"
        f"{fmt(machine['load_max'], 2)} at the workloads' starts and ends; CPU steal per "
        f"workload median {fmt(machine['steal_median'])} %, max {fmt(machine['steal_max'])} %"
    ]
    for name, rates in machine["w0_rate_per_run"].items():
        values = list(rates.values())
        median = statistics.median(values)
        noise = (max(values) - min(values)) / median * 100 if median else 0.0
        per_run = ", ".join(f"run {k} {v:.1f}" for k, v in rates.items())
        out.append(f"{name} tx/s: {per_run}; spread {noise:.0f} % of the median")
    return out + machine["warnings"]


def row_json(r: Row) -> dict:
    return {
        "workload": r.workload,
        "clients": r.clients,
        "run": r.run,
        **r.figures(),
        "note": r.note,
        "target": r.target_text or None,
        "result": r.note if r.skipped else r.verdict(),
        "machine": {k: r.machine.get(k) for k in ("load_start", "load_end", "steal")},
    }


def versions() -> str:
    import django
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    gunicorn = subprocess.run(  # noqa: S603
        [str(VENV_BIN / "gunicorn"), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {pg}, psycopg {psycopg.__version__}, {gunicorn}, "
        f"{os.cpu_count()} CPUs"
    )


# --- main --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="PosDesk load benchmark (see bench/README.md)")
    p.add_argument("--tickets", type=int, default=100_000, help="tickets to seed (100000)")
    p.add_argument("--merchants", type=int, default=None, help="default max(2000, tickets/50)")
    p.add_argument("--duration", type=float, default=30, help="seconds per workload (30)")
    p.add_argument("--clients", type=int, default=8, help="W0/W1 clients (8)")
    p.add_argument("--reseed", action="store_true", help="drop the bench database and seed again")
    p.add_argument(
        "--only", default="", help="comma list of workloads, e.g. W2,W3 (W0 always runs first)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="run the workloads this many times over, alternating; the table shows medians (3)",
    )
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    p.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (1)")
    p.add_argument("--celery-concurrency", type=int, default=2)
    p.add_argument(
        "--celery-args",
        default="",
        help="more options for the worker, e.g. '-P threads' or '--prefetch-multiplier 4'",
    )
    p.add_argument(
        "--fan-out-runs", type=int, default=3, help="W5: fan-outs of 1,000 tickets to time (3)"
    )
    p.add_argument("--profile", default="", help="cProfile these workloads in-process, e.g. W2")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument(
        "--email-backlog",
        type=int,
        default=3000,
        help="e-mails queued before W1E's clients start (3000)",
    )
    p.add_argument("--seed-only", action="store_true", help="prepare the database and stop")
    p.add_argument(
        "--queries-only",
        action="store_true",
        help="no servers: count (and with --explain, explain) the queries of W2-W4 in-process",
    )
    p.add_argument(
        "--explain", type=int, default=0, help="EXPLAIN ANALYZE the N slowest queries per page"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show the slowest SQL per page")
    p.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/posdesk_bench"
        ),
    )
    p.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = p.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()] or list(WORKLOADS)
    args.profile = [w.strip().upper() for w in args.profile.split(",") if w.strip()]
    bad = [w for w in args.only if w not in WORKLOADS]
    if bad:
        p.error(f"unknown workload(s) {bad}; choose from {', '.join(WORKLOADS)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    for url in (args.database_url, args.redis_url):
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
            p.error(f"{url}: the bench only runs against services on 127.0.0.1")
    return args


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """Production settings, as a deployment behind a TLS proxy would run them."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings_production",
            "SECRET_KEY": secrets.token_urlsafe(48),  # >= 50 characters
            "DEBUG": "false",
            # The load generator speaks plain HTTP on loopback and says
            # `X-Forwarded-Proto: https`, as a TLS-terminating proxy would.
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DATABASE_URL": args.database_url,
            "CELERY_BROKER_URL": args.redis_url,
            "SITE_URL": "http://127.0.0.1:8000",
            "CACHE_URL": args.redis_url,
            # W1 files the same fault of a few shops' terminals hundreds of times a
            # second: the limits on what a shop may send would refuse nearly all of it.
            "RATE_LIMIT_FILING": "off",
            "RATE_LIMIT_REPLIES": "off",
            "RATE_LIMIT_UPLOADS": "off",
            "ONE_OPEN_TICKET_PER_FAULT": "false",
            # W8 calls the API hundreds of times a minute with one key: counted (the
            # throttle's cache round trip is part of each request), never refused.
            "API_RATE_LIMIT": "100000000/min",
            "STATIC_ROOT": str(CACHE / "static"),
            "MEDIA_ROOT": str(CACHE / "media"),
            "LOG_LEVEL": "WARNING",
            # There is no mail server on the bench machine: e-mails are rendered and
            # handed to Django's dummy backend (production would speak SMTP here).
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def wait_http(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited; see bench/.cache/logs/gunicorn.log")
        client = Client(port)
        try:
            if client.get("/accounts/login/").status == 200:
                return
        except OSError:
            pass
        finally:
            client.close()
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


def wait_celery(proc: subprocess.Popen, timeout: float = 60) -> None:
    from portal.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the Celery worker exited; see bench/.cache/logs/celery.log")
        if app.control.ping(timeout=1.0):
            return
    raise SystemExit("the Celery worker did not answer a ping in time")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = server_env(args)
    (CACHE / "logs").mkdir(parents=True, exist_ok=True)
    procs = Processes()

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (a &-job)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_at_start = os.getloadavg()[0]
    bench: Bench | None = None
    try:
        ensure_database(args.database_url, recreate=args.reseed)
        django_setup(env)
        t0 = time.monotonic()
        meta = prepare_data(args, env)
        print(f"Data ready in {time.monotonic() - t0:.1f} s")
        if args.seed_only:
            return 0
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        if args.queries_only:
            bench = Bench(args, None, meta)
            for workload in args.only:
                if workload in ("W2", "W3", "W4"):
                    getattr(bench, workload.lower())()
            if args.profile:
                bench.profile_only()
            return 0
        from django.db import connection

        connection.close()  # the servers get their own connections

        from portal.celery import app

        app.control.purge()  # tasks a killed earlier run left in the bench queue
        port = free_port()
        logs = CACHE / "logs"
        celery = procs.start(
            "celery worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "-l",
                "WARNING",
                "-c",
                str(args.celery_concurrency),
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench-{port}@%h",
                *shlex.split(args.celery_args),
            ],
            env,
            logs / "celery.log",
        )
        gunicorn = procs.start(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "portal.wsgi:application",
                "--bind",
                f"{LOOPBACK}:{port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(args.threads),
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
            ],
            env,
            logs / "gunicorn.log",
        )
        wait_http(port, gunicorn)
        wait_celery(celery)
        print(f"Serving on http://{LOOPBACK}:{port}/ ({args.workers} gthread workers)")
        bench = Bench(args, port, meta, CpuMeter(procs))
        # W0 first in every run: each run carries the machine's ceiling at that time.
        order = ["W0", *(w for w in args.only if w != "W0")]
        runs: list[list[Row]] = []
        samples: list[dict] = []
        for k in range(1, args.repeat + 1):
            print(f"Run {k} of {args.repeat}: {', '.join(order)}")
            bench.run_index, bench.w1_rate, bench.rows = k, None, []
            for workload in order:
                start, first = machine_sample(), len(bench.rows)
                try:
                    getattr(bench, workload.lower())()
                except Exception as exc:  # noqa: BLE001 - one broken page must not stop the run
                    bench.skip(workload, "-", f"{type(exc).__name__}: {exc}"[:200])
                state = machine_state(k, workload, start, machine_sample())
                samples.append(state)
                for row in bench.rows[first:]:
                    row.run, row.machine = k, state
            runs.append(bench.rows)
        summaries = summarize(runs)
        machine = machine_summary(samples, summaries, os.cpu_count() or 1)
        output = table(summaries)
        print()
        print(f"PosDesk bench, {meta.tickets:,} tickets, started {started}")
        load_at_end = os.getloadavg()[0]
        print(f"load average (1 min) at start {load_at_start:.2f}, at end {load_at_end:.2f}")
        print(versions())
        print(
            f"gunicorn {args.workers} workers x {args.threads} thread(s); "
            f"celery concurrency {args.celery_concurrency}"
            + (f" {args.celery_args}" if args.celery_args else "")
            + f"; {args.duration:g} s per workload; "
            f"{args.repeat} run(s), alternating"
        )
        print()
        print(f"Median of {args.repeat} run(s), (min–max) over the runs; CPU ms per transaction:")
        print(output)
        for line in notes(summaries):
            print(line)
        cpu_output = cpu_table(summaries)
        if cpu_output:
            print()
            print("CPU targets (server = gunicorn + worker + PostgreSQL, median of the runs):")
            print(cpu_output)
        print()
        print("Machine:")
        for line in machine_lines(machine):
            print(f"  {line}")
        print()
        print("Every run (CPU ms per transaction; load average and steal during the workload):")
        per_run = runs_table(summaries)
        print(per_run)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "tickets": meta.tickets,
                        "started": started,
                        "repeat": args.repeat,
                        "table": output,
                        "cpu_table": cpu_output,
                        "runs_table": per_run,
                        "medians": [s.as_json(summaries) for s in summaries],
                        "cpu_targets": [
                            {
                                "workload": s.workload,
                                "clients": s.clients,
                                "server_ms": s.as_json(summaries)["figures"].get("server"),
                                "target_ms": limit,
                                "result": verdict,
                            }
                            for s, limit, verdict in cpu_verdicts(summaries)
                        ],
                        "runs": [
                            {
                                "run": k,
                                "machine": [m for m in samples if m["run"] == k],
                                "rows": [row_json(r) for r in rows],
                            }
                            for k, rows in enumerate(runs, 1)
                        ],
                        "machine": machine,
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        return 0
    except KeyboardInterrupt:
        print("\nInterrupted")
        return 130
    finally:
        if bench is not None:
            for client in bench.sessions.values():
                client.close()
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
