"""Seed the benchmark database in bulk: providers, queues, merchants, devices, users,
N tickets and their timelines.

Rows go in with PostgreSQL COPY (psycopg 3 `cursor.copy`), so a million tickets take
minutes, not hours. Column lists come from the models, so a field another engineer adds
later is filled with its default instead of breaking the seeder.

Run it on its own against an empty, migrated database:

    DJANGO_SETTINGS_MODULE=portal.settings \
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/posdesk_bench \
    .venv/bin/python bench/seed.py --tickets 100000

`bench/run.py` calls `seed()` itself. What the workloads need (the busiest queue, the
ticket with 20 events, the big merchant) is written to the `bench_seed` table.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # pragma: no cover - script mode
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()

from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from bench import w7
from devices.models import Brand, Device, DeviceModel, Membership, Merchant, Provider
from portal.models import User
from tickets.models import SYMPTOMS, Queue, Ticket, TicketEvent, format_reference
from tickets.queues import ensure_default_queues

PASSWORD = "posdesk-bench-pw"  # noqa: S105 - every bench user; the load generator logs in with it
BIG_MERCHANT_TICKETS = 2000
W3_EVENTS = 20
TECHS_PER_PROVIDER = 6
OPEN = ("queued", "in_progress", "waiting_merchant")

# (name, kind, share of the terminals it services). One provider is clearly the
# busiest, as in the field; three of them acquire payments.
PROVIDERS = [
    ("Lakala Service", Provider.Kind.PAYMENT_INSTITUTION, 0.34),
    ("ICBC Merchant Acquiring", Provider.Kind.BANK, 0.22),
    ("PAX Care", Provider.Kind.MANUFACTURER, 0.16),
    ("UnionPay Merchant Services", Provider.Kind.PAYMENT_INSTITUTION, 0.12),
    ("Newland Field Service", Provider.Kind.THIRD_PARTY, 0.10),
    ("Sunmi Support", Provider.Kind.THIRD_PARTY, 0.06),
]
BRANDS = {
    "PAX": [("A920", 24), ("S920", 12), ("A80", 24)],
    "Newland": [("N910", 12), ("ME51", 12)],
    "Sunmi": [("P2 Pro", 12), ("V2s", 12)],
    "Verifone": [("V200c", 36), ("X990", 24)],
    "Ingenico": [("Move/5000", 24), ("Desk/3500", 24)],
    "Landi": [("A8", 12)],
}
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu", "Wuhan"]
SHOP_KINDS = ["Noodle House", "Bakery", "Pharmacy", "Tea Shop", "Mini Mart", "Florist", "Salon"]
CATEGORIES = [  # (category, weight)
    ("hardware", 0.36),
    ("software", 0.24),
    ("network", 0.24),
    ("transaction", 0.13),
    ("other", 0.03),
]
# Descriptions and timeline texts: bench/w7.py (Chinese and English, for W7).


@dataclass
class Seeded:
    """What the workloads need to find in the seeded data."""

    tickets: int
    merchants: int
    devices: int
    big_merchant_id: int = 0
    big_merchant_user: str = ""
    w1_users: list[str] = field(default_factory=list)
    busiest_queue_id: int = 0
    busiest_queue_open: int = 0
    busiest_provider_techs: list[str] = field(default_factory=list)
    w3_reference: str = ""
    # W5 (bench/run.py): the outage city's shops, the fan-out's shops, their provider.
    outage_provider_id: int = 0
    outage_shops: int = 0
    fanout_shops: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


# --- COPY plumbing ------------------------------------------------------------------


def _fallback(f: models.Field, now: datetime) -> Any:  # noqa: ANN401
    """The value a column gets when the seeder does not set it: its default."""
    if f.has_default():
        value = f.get_default()
    elif f.null:
        return None
    elif isinstance(f, models.BooleanField):
        value = False
    elif isinstance(f, models.DateTimeField):
        value = now
    elif isinstance(f, models.DateField):
        value = now.date()
    elif isinstance(f, (models.IntegerField, models.DecimalField, models.FloatField)):
        value = 0
    elif isinstance(f, (models.CharField, models.TextField, models.FileField)):
        value = ""
    elif isinstance(f, models.JSONField):
        value = {}
    else:
        raise RuntimeError(
            f"bench/seed.py does not know how to fill {f.model.__name__}.{f.name}; add it"
        )
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def copy_rows(
    model: type[models.Model], names: list[str], rows: Iterable[tuple], now: datetime
) -> int:
    """COPY `rows` (tuples in the order of `names`) into `model`'s table."""
    fields = model._meta.concrete_fields
    by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise RuntimeError(f"{model.__name__} has no field(s) {unknown}")
    given = {by_name[n].column for n in names}
    rest = [f for f in fields if f.column not in given]
    columns = [by_name[n].column for n in names] + [f.column for f in rest]
    tail = tuple(_fallback(f, now) for f in rest)
    sql = "COPY {} ({}) FROM STDIN".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(c) for c in columns),
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        write = copy.write_row
        for row in rows:
            write(row + tail)
            count += 1
    return count


def reset_sequence(model: type[models.Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our own table names
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )


def fast_load_mode() -> str:
    """Skip the per-row FK triggers for this transaction (needs a superuser; else keep them)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return "kept (not a superuser)"
    return "off for the load"


def drop_secondary_indexes(model: type[models.Model]) -> list[str]:
    """Drop the indexes no constraint owns; return the statements that rebuild them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [model._meta.db_table],
        )
        found = cursor.fetchall()
        for name, _definition in found:
            cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in found]


def check_foreign_keys(model: type[models.Model]) -> None:
    """With the triggers off, prove every foreign key points at a row (one anti-join each)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for f in model._meta.concrete_fields:
            if not f.is_relation:
                continue
            target = connection.ops.quote_name(f.related_model._meta.db_table)
            column = connection.ops.quote_name(f.column)
            cursor.execute(
                f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.id = t.{column} "  # noqa: S608
                f"WHERE t.{column} IS NOT NULL AND r.id IS NULL"
            )
            broken = cursor.fetchone()[0]
            if broken:
                raise RuntimeError(f"{broken} rows of {table}.{column} point at nothing")


def weighted(items: list, weights: list[float], rng: random.Random) -> Callable[[], Any]:
    """A fast sampler: one bisect over cumulative weights per draw."""
    cum = list(itertools.accumulate(weights))
    total = cum[-1]
    rand = rng.random
    return lambda: items[bisect.bisect_right(cum, rand() * total)]


# --- the data ---------------------------------------------------------------------


def seed(tickets: int = 100_000, merchants: int | None = None, *, log: Callable = print) -> Seeded:
    """Fill an empty, migrated database. Deterministic for a given `tickets`."""
    if Ticket.objects.exists() or Merchant.objects.exists():
        raise RuntimeError("seed() wants an empty database (bench/run.py --reseed recreates it)")
    started = time.monotonic()
    rng = random.Random(20261122)  # noqa: S311 - repeatable data, not security
    now = timezone.now().replace(microsecond=0)
    today = now.date()
    merchants = merchants or max(2000, tickets // 50)
    big_tickets = min(BIG_MERCHANT_TICKETS, tickets // 2)
    info = Seeded(tickets=tickets, merchants=merchants, devices=0)

    def step(what: str, t0: float, n: int) -> None:
        info.rows[what] = n
        log(f"  {what:<14} {n:>10,} rows in {time.monotonic() - t0:6.1f} s")

    log(f"Seeding {tickets:,} tickets, {merchants:,} merchants ...")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")
        # Providers through the ORM: the post_save signal creates their default queues.
        providers = []
        for name, kind, _share in PROVIDERS:
            provider = Provider.objects.create(
                name=name, kind=kind, hotline="400-820-0000", support_24h=kind == "bank"
            )
            ensure_default_queues(provider)
            providers.append(provider)
        acquirers = [p for p in providers if p.kind in ("bank", "payment_institution")]
        queues: dict[tuple[int | None, str], Queue] = {
            (q.provider_id, q.kind): q for q in Queue.objects.all()
        }
        platform_triage = queues.get((None, Queue.Kind.TRIAGE))
        if platform_triage is None:
            platform_triage = Queue.objects.create(kind=Queue.Kind.TRIAGE, name="Platform triage")
            queues[(None, Queue.Kind.TRIAGE)] = platform_triage

        models_by_id: dict[int, tuple[int, int]] = {}  # model id -> (brand id, months)
        for brand_name, device_models in BRANDS.items():
            brand = Brand.objects.create(name=brand_name)
            for model_name, months in device_models:
                dm = DeviceModel.objects.create(
                    brand=brand, name=model_name, default_warranty_months=months
                )
                models_by_id[dm.pk] = (brand.pk, months)
        model_ids = list(models_by_id)

        # Users: one per merchant (the reporter of its tickets), technicians per
        # provider. One password hash shared by all: hashing 20,000 times would take
        # hours with the production hasher, and the bench only needs to log in.
        t0 = time.monotonic()
        password = make_password(PASSWORD)
        user_rows = []
        for m in range(1, merchants + 1):
            username = "bench-bigshop" if m == 1 else f"bench-merchant-{m}"
            user_rows.append((m, username, password, f"{username}@bench.invalid", now))
        tech_ids: dict[int, list[int]] = {}
        tech_names: dict[int, list[str]] = {}
        uid = merchants
        for p_index, provider in enumerate(providers):
            for k in range(TECHS_PER_PROVIDER):
                uid += 1
                username = f"bench-tech-{p_index}-{k}"
                user_rows.append((uid, username, password, f"{username}@bench.invalid", now))
                tech_ids.setdefault(provider.pk, []).append(uid)
                tech_names.setdefault(provider.pk, []).append(username)
        n = copy_rows(User, ["id", "username", "password", "email", "date_joined"], user_rows, now)
        reset_sequence(User)
        membership_rows = [(m, m, m, None) for m in range(1, merchants + 1)]
        mid = merchants
        for provider_id, ids in tech_ids.items():
            for user_id in ids:
                mid += 1
                membership_rows.append((mid, user_id, None, provider_id))
        copy_rows(Membership, ["id", "user_id", "merchant_id", "provider_id"], membership_rows, now)
        reset_sequence(Membership)
        step("users", t0, n)

        t0 = time.monotonic()

        def merchant_rows() -> Iterator[tuple]:
            for m in range(1, merchants + 1):
                if m == 1:
                    name = "Bench Big Chain (W4)"
                else:
                    name = f"{rng.choice(SHOP_KINDS)} {m}"
                city = rng.choice(CITIES)
                yield (m, name, f"+86 21 {m:08d}", city, f"{m} Nanjing Road, {city}", now)

        step(
            "merchants",
            t0,
            copy_rows(
                Merchant,
                ["id", "name", "contact_phone", "city", "address", "created_at"],
                merchant_rows(),
                now,
            ),
        )
        reset_sequence(Merchant)

        # Devices: the big merchant has 400 terminals, every other shop 1-5.
        t0 = time.monotonic()
        pick_provider = weighted(providers, [share for _n, _k, share in PROVIDERS], rng)
        devices: list[tuple[int, int, int | None, date | None, bool]] = []
        # per device: (merchant, provider id, acquirer id, warranty end, void)
        devices_of: dict[int, list[int]] = {}
        device_rows = []
        for m in range(1, merchants + 1):
            for _ in range(400 if m == 1 else rng.choice((1, 1, 2, 2, 3, 4, 5))):
                d_id = len(devices) + 1
                provider = pick_provider()
                acquirer = rng.choice(acquirers) if rng.random() < 0.92 else None
                model_id = rng.choice(model_ids)
                brand_id, months = models_by_id[model_id]
                purchase = today - timedelta(days=rng.randint(30, 5 * 365))
                if rng.random() < 0.05:
                    purchase = warranty_end = None  # no warranty data: "unknown"
                else:
                    warranty_end = purchase + timedelta(days=months * 365 // 12)
                void = warranty_end is not None and rng.random() < 0.01
                created = now - timedelta(days=rng.randint(0, 5 * 365))
                devices.append(
                    (m, provider.pk, acquirer.pk if acquirer else None, warranty_end, void)
                )
                devices_of.setdefault(m, []).append(d_id)
                device_rows.append(
                    (
                        d_id,
                        m,
                        provider.pk,
                        acquirer.pk if acquirer else None,
                        model_id,
                        brand_id,
                        f"SN{d_id:010d}",
                        purchase,
                        warranty_end,
                        void,
                        "Liquid damage" if void else "",
                        "active",
                        rng.choice(("Front counter", "Till 2", "Bar", "Back office")),
                        created,
                        created,
                    )
                )
        info.devices = copy_rows(
            Device,
            [
                "id",
                "merchant_id",
                "provider_id",
                "acquirer_id",
                "model_id",
                "brand_id",
                "serial_number",
                "purchase_date",
                "warranty_end",
                "warranty_void",
                "warranty_void_reason",
                "status",
                "location",
                "created_at",
                "updated_at",
            ],
            device_rows,
            now,
        )
        del device_rows
        reset_sequence(Device)
        step("devices", t0, info.devices)

        # The two big tables load fastest without their secondary indexes (built once,
        # sorted, afterwards) and without per-row foreign-key triggers (checked once,
        # with one anti-join per key, afterwards).
        t0 = time.monotonic()
        bulk_mode = fast_load_mode()
        dropped = drop_secondary_indexes(Ticket) + drop_secondary_indexes(TicketEvent)
        log(f"  {len(dropped)} secondary indexes dropped; FK triggers {bulk_mode}")

        # Tickets: ids grow with time (as a sequence would); the big merchant has
        # exactly `big_tickets`; the rest follow a skewed (Zipf-like) merchant mix.
        t0 = time.monotonic()
        big_ids = set(rng.sample(range(1, tickets), big_tickets)) if big_tickets else set()
        small_merchants = list(range(2, merchants + 1))
        pick_merchant = weighted(small_merchants, [1 / (i**0.6) for i in range(1, merchants)], rng)
        pick_category = weighted([c for c, _w in CATEGORIES], [w for _c, w in CATEGORIES], rng)
        pick_payments = weighted(["no", "degraded", "yes"], [0.25, 0.35, 0.40], rng)
        symptoms = {c: [code for code, _label in s] for c, s in SYMPTOMS.items()}
        queue_minutes = {
            q.pk: (
                [0, q.first_response_p1, q.first_response_p2, q.first_response_p3],
                [0, q.resolution_p1, q.resolution_p2, q.resolution_p3],
            )
            for q in queues.values()
        }
        queue_provider = {q.pk: q.provider_id for q in queues.values()}
        span = timedelta(days=3 * 365).total_seconds()
        start = now - timedelta(seconds=span)
        busiest_provider = providers[0].pk
        w3_device = next(
            d
            for d in range(1, len(devices) + 1)
            if devices[d - 1][1] == busiest_provider and devices[d - 1][0] != 1
        )
        tokens = uuid.UUID  # local alias: uuid4 per row is the slow part, this is faster
        getrandbits = rng.getrandbits
        # Per ticket, what the events pass needs: (status, created, routed, assigned,
        # resolved_at, closed_at, reporter, category)
        ticket_state: list[tuple] = [None]  # index = ticket id

        def route(category: str, warranty: str, provider_id: int, acquirer_id: int | None) -> tuple:
            """The default routing table of DESIGN.md: (queue, billable, needs admin, note)."""
            if category == "transaction":
                q = queues.get((acquirer_id, "transaction_support"))
                if q is not None:
                    return q, False, False, "Transaction problem → the acquirer's support"
            elif category in ("network", "software"):
                return queues[(provider_id, "remote_support")], False, False, "Remote support"
            elif category == "hardware" and warranty == "in":
                return queues[(provider_id, "warranty_repair")], False, False, "In warranty"
            elif category == "hardware" and warranty == "out":
                return queues[(provider_id, "paid_repair")], True, False, "Out of warranty"
            if warranty == "unknown":
                return queues[(provider_id, "triage")], None, False, "Warranty unknown → triage"
            return platform_triage, None, True, "No rule fitted → platform triage"

        def ticket_rows() -> Iterator[tuple]:
            rand = rng.random
            for t_id in range(1, tickets + 1):
                created = start + timedelta(seconds=span * (t_id - 0.5) / tickets)
                if t_id == tickets:  # the W3 ticket: busy, open, recent
                    merchant_id = devices[w3_device - 1][0]
                    device_id = w3_device
                    category = "software"
                    status = "in_progress"
                else:
                    merchant_id = 1 if t_id in big_ids else pick_merchant()
                    device_id = rng.choice(devices_of[merchant_id])
                    category = pick_category()
                    age = (now - created).days
                    if rand() < (0.9 if age < 3 else 0.3 if age < 30 else 0.01):
                        r = rand()
                        status = (
                            "queued"
                            if r < 0.4
                            else "in_progress"
                            if r < 0.8
                            else "waiting_merchant"
                        )
                    elif age < 7 and rand() < 0.5:
                        status = "resolved"
                    else:
                        status = "cancelled" if rand() < 0.08 else "closed"
                _m, provider_id, acquirer_id, warranty_end, void = devices[device_id - 1]
                if void:
                    warranty = "out"
                elif warranty_end is None:
                    warranty = "unknown"
                else:
                    warranty = "in" if warranty_end >= created.date() else "out"
                queue, billable, needs_admin, note = route(
                    category, warranty, provider_id, acquirer_id
                )
                payments = pick_payments()
                priority = 1 if payments == "no" else 2 if payments == "degraded" else 3
                routed = created + timedelta(seconds=0.5 + 2.5 * rand())
                first_m, resolution_m = queue_minutes[queue.pk]
                first_due = routed + timedelta(minutes=first_m[priority])
                resolution_due = routed + timedelta(minutes=resolution_m[priority])
                techs = tech_ids.get(queue_provider[queue.pk])
                assigned = None
                first_responded = resolved_at = closed_at = paused = None
                if status != "queued" and status != "cancelled" and techs:
                    assigned = rng.choice(techs)
                    first_responded = routed + timedelta(minutes=5 + 200 * rand())
                if status in ("resolved", "closed"):
                    resolved_at = min(routed + timedelta(hours=1 + 70 * rand()), now)
                if status == "closed":
                    closed_at = min(resolved_at + timedelta(days=1 + 3 * rand()), now)
                if status == "waiting_merchant":
                    paused = min(routed + timedelta(hours=2), now)
                end = resolved_at or (now if status in OPEN else None)
                breached = resolution_due if end is not None and end > resolution_due else None
                txn = category == "transaction"
                ticket_state.append(
                    (
                        status,
                        created,
                        routed,
                        assigned,
                        resolved_at,
                        closed_at,
                        merchant_id,
                        category,
                    )
                )
                yield (
                    t_id,
                    format_reference(t_id),
                    merchant_id,
                    device_id,
                    merchant_id,  # reporter: the merchant's user has the merchant's id
                    tokens(int=getrandbits(128), version=4),
                    category,
                    rng.choice(symptoms[category]),
                    "E11" if rand() < 0.1 else "",
                    payments,
                    priority,
                    '["restart"]' if rand() < 0.6 else "[]",
                    w7.description(t_id),  # Chinese and English, for W7
                    f"138{merchant_id:08d}",
                    warranty,
                    warranty_end,
                    created - timedelta(minutes=30) if txn else None,
                    Decimal("128.50") if txn else None,
                    status,
                    queue.pk,
                    billable,
                    note,
                    needs_admin,
                    1,
                    routed,
                    assigned,
                    first_due,
                    resolution_due,
                    first_responded,
                    paused,
                    breached,
                    "remote_fix" if resolved_at else "",
                    resolved_at,
                    closed_at,
                    "Fixed by a restart" if status == "cancelled" else "",
                    created,
                    closed_at or resolved_at or first_responded or routed,
                )

        n = copy_rows(
            Ticket,
            [
                "id",
                "reference",
                "merchant_id",
                "device_id",
                "reporter_id",
                "submission_token",
                "category",
                "symptom",
                "error_code",
                "can_take_payments",
                "priority",
                "checks_tried",
                "description",
                "callback_phone",
                "warranty_status",
                "warranty_end",
                "txn_time",
                "txn_amount",
                "status",
                "queue_id",
                "billable",
                "routing_note",
                "needs_admin",
                "route_attempts",
                "routed_at",
                "assigned_to_id",
                "first_response_due",
                "resolution_due",
                "first_responded_at",
                "sla_paused_at",
                "resolution_breached_at",
                "resolution_code",
                "resolved_at",
                "closed_at",
                "cancel_reason",
                "created_at",
                "updated_at",
            ],
            ticket_rows(),
            now,
        )
        reset_sequence(Ticket)
        step("tickets", t0, n)

        # Timelines: filed + routed for all, then what the status implies (~3 each);
        # the W3 ticket gets a 20-event conversation.
        t0 = time.monotonic()

        def event_rows() -> Iterator[tuple]:
            e_id = 0
            second = timedelta(seconds=1)
            for t_id in range(1, tickets + 1):
                status, created, routed, assigned, resolved_at, closed_at, reporter, _c = (
                    ticket_state[t_id]
                )
                e_id += 1
                yield (e_id, t_id, "filed", reporter, True, "", created)
                e_id += 1
                yield (e_id, t_id, "routed", None, True, "Routed by the default rules", routed)
                if t_id == tickets:
                    kinds = ["claimed"] + ["reply", "merchant_reply", "note"] * 6
                    for i, kind in enumerate(kinds[: W3_EVENTS - 2]):
                        e_id += 1
                        actor = reporter if kind == "merchant_reply" else assigned
                        body = w7.reply(t_id, i) if kind != "claimed" else ""
                        when = routed + (i + 1) * 60 * second
                        yield (e_id, t_id, kind, actor, kind != "note", body, when)
                    continue
                if status == "in_progress":
                    e_id += 1
                    yield (e_id, t_id, "claimed", assigned, True, "", routed + 300 * second)
                elif status == "waiting_merchant":
                    e_id += 1
                    yield (
                        e_id,
                        t_id,
                        "question",
                        assigned,
                        True,
                        w7.reply(t_id, 1),
                        routed + 3600 * second,
                    )
                elif status in ("resolved", "closed"):
                    e_id += 1
                    yield (e_id, t_id, "resolved", assigned, True, w7.reply(t_id, 2), resolved_at)
                    if status == "resolved" or t_id % 3 == 0:
                        pass
                    else:
                        e_id += 1
                        yield (e_id, t_id, "confirmed", reporter, True, "", closed_at)
                elif status == "cancelled":
                    e_id += 1
                    yield (e_id, t_id, "cancelled", reporter, True, "", routed + 600 * second)

        n = copy_rows(
            TicketEvent,
            ["id", "ticket_id", "kind", "actor_id", "public", "body", "created_at"],
            event_rows(),
            now,
        )
        reset_sequence(TicketEvent)
        step("events", t0, n)
        ticket_state.clear()

        t0 = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for definition in dropped:
                cursor.execute(definition)
        log(f"  indexes        {len(dropped):>10} built in {time.monotonic() - t0:6.1f} s")
        t0 = time.monotonic()
        check_foreign_keys(Ticket)
        check_foreign_keys(TicketEvent)
        log(f"  foreign keys        checked in {time.monotonic() - t0:6.1f} s")

        info.big_merchant_id = 1
        info.big_merchant_user = "bench-bigshop"
        # Filing clients: shops with a few terminals, not the big one.
        info.w1_users = [f"bench-merchant-{m}" for m in range(2, 2 + 16)]
        info.w3_reference = format_reference(tickets)
        busiest = (
            Ticket.objects.filter(status__in=OPEN, queue__provider=providers[0])
            .values("queue")
            .annotate(n=models.Count("id"))
            .order_by("-n")
            .first()
        )
        info.busiest_queue_id = busiest["queue"]
        info.busiest_queue_open = busiest["n"]
        info.busiest_provider_techs = tech_names[providers[0].pk]

    t0 = time.monotonic()
    # VACUUM sets the visibility map (index-only scans) and ANALYZE the planner statistics.
    with connection.cursor() as cursor:
        for model in (Ticket, TicketEvent, Device, Merchant, User, Membership, Queue):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    log(f"  vacuum/analyze                   in {time.monotonic() - t0:6.1f} s")
    seed_outage_shops(info, log=log)
    info.seconds = round(time.monotonic() - started, 1)
    save_meta(info)
    log(f"Seeded in {info.seconds} s")
    return info


# --- W5: one city's shops of one provider ------------------------------------------

# W5's burst comes from OUTAGE_SHOPS shops of one city; the fan-out row links a ticket of
# each of FANOUT_SHOPS shops of another city to one incident. Each shop has one terminal
# of OUTAGE_PROVIDER and one user (`bench-outage-<n>`, `bench-fanout-<n>`), so one e-mail
# per shop is one e-mail per person. Cities of their own: no seeded ticket is ever part
# of their incidents, and W1-W4 never see these shops.
OUTAGE_PROVIDER = "ICBC Merchant Acquiring"
OUTAGE_CITY = "Bench Outage City"
OUTAGE_SHOPS = 300
FANOUT_CITY = "Bench Fan-out City"
FANOUT_SHOPS = 1000


def seed_outage_shops(info: Seeded, *, log: Callable = print) -> None:
    """Add W5's shops (also to a database seeded before W5 existed; then save_meta)."""
    t0 = time.monotonic()
    provider = Provider.objects.get(name=OUTAGE_PROVIDER)
    model = DeviceModel.objects.order_by("pk").first()
    password = make_password(PASSWORD)
    today = timezone.now().date()
    with transaction.atomic():
        for city, prefix, count in (
            (OUTAGE_CITY, "bench-outage", OUTAGE_SHOPS),
            (FANOUT_CITY, "bench-fanout", FANOUT_SHOPS),
        ):
            merchants = Merchant.objects.bulk_create(
                Merchant(
                    name=f"{city.removeprefix('Bench ')} shop {n}",
                    contact_phone=f"+86 20 {n:08d}",
                    city=city,
                    address=f"{n} Harbour Road, {city}",
                )
                for n in range(1, count + 1)
            )
            users = User.objects.bulk_create(
                User(
                    username=f"{prefix}-{n}", password=password, email=f"{prefix}-{n}@bench.invalid"
                )
                for n in range(1, count + 1)
            )
            Membership.objects.bulk_create(
                Membership(user=user, merchant=merchant)
                for user, merchant in zip(users, merchants, strict=True)
            )
            Device.objects.bulk_create(
                Device(
                    merchant=merchant,
                    provider=provider,
                    acquirer=provider,
                    model=model,
                    brand_id=model.brand_id,
                    serial_number=f"SN{prefix.upper().replace('-', '')}{n:05d}",
                    purchase_date=today - timedelta(days=200),
                    warranty_end=today + timedelta(days=165),
                    status=Device.Status.ACTIVE,
                    location="Front counter",
                )
                for n, merchant in enumerate(merchants, start=1)
            )
    info.outage_provider_id = provider.pk
    info.outage_shops, info.fanout_shops = OUTAGE_SHOPS, FANOUT_SHOPS
    log(
        f"  W5 shops      {OUTAGE_SHOPS + FANOUT_SHOPS:>10,} rows in "
        f"{time.monotonic() - t0:6.1f} s ({OUTAGE_CITY}, {FANOUT_CITY})"
    )


# --- what the runner reads back -----------------------------------------------------

META_TABLE = "bench_seed"


def save_meta(info: Seeded) -> None:
    """The seed's facts, in a table of its own (not a Django model: no migration)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (id int PRIMARY KEY, meta jsonb)")
        cursor.execute(
            f"INSERT INTO {META_TABLE} (id, meta) VALUES (1, %s) "  # noqa: S608
            "ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta",
            [json.dumps(info.__dict__)],
        )


def load_meta() -> Seeded | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [META_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT meta FROM {META_TABLE} WHERE id = 1")  # noqa: S608
        row = cursor.fetchone()
    if row is None:
        return None
    meta = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return Seeded(**meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--merchants", type=int, default=None)
    args = parser.parse_args()
    seed(args.tickets, args.merchants)


if __name__ == "__main__":
    main()
