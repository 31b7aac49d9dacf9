"""W5, an outage burst, and the incident fan-out row: issue 13's targets.

Called by bench/run.py (its `Bench.w5`), in the runner's process, against the bench
database with the production settings the servers run.

- **Burst.** 8 clients file "connected, but cannot reach the payment host" (network,
  host) from the 300 shops of `seed.OUTAGE_CITY`, all of one provider, through the
  real filing form (GET + POST, as W1), while the real worker routes each ticket and
  `outages.detection` links it. The clients take the shops in turn (`Rotation`).
- **Fan-out.** 1,000 tickets of the 1,000 shops of `seed.FANOUT_CITY` are written
  straight into the database, an incident is declared over them with
  `outages.services.declare` (which links them), and `services.post_update` hands the
  update to the worker's `fan_out_update` task.

See bench/README.md, "W5".
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from bench.loadgen import BenchError, Client, Form, expect, parse_forms

# What a shop whose terminal cannot reach the payment host answers on the filing form.
OUTAGE_ANSWERS = {
    "symptom": "host",
    "can_take_payments": "no",
    "description": "Bench W5: the terminal connects but says it cannot reach the payment host.",
}
FAN_OUT_TICKETS = 1000
FAN_OUT_SMALL = 10  # the query count must not change between this and FAN_OUT_TICKETS


@dataclass
class Shop:
    merchant_id: int
    username: str
    device_id: int
    cookies: dict[str, str] = field(default_factory=dict)
    filed: int = 0  # tickets filed in this run


# --- clean state ---------------------------------------------------------------------


def clean(meta) -> dict[str, int]:  # noqa: ANN001 - bench.seed.Seeded
    """Back to the seeded state for the W5 cities: their tickets (links, events and
    downtime go with them) and their incidents (updates and links go with them)."""
    from bench.seed import FANOUT_CITY, OUTAGE_CITY
    from outages.models import Incident
    from tickets.models import Ticket

    tickets, _ = Ticket.objects.filter(
        pk__gt=meta.tickets, merchant__city__in=[OUTAGE_CITY, FANOUT_CITY]
    ).delete()
    incidents, _ = Incident.objects.filter(
        provider_id=meta.outage_provider_id, city__in=[OUTAGE_CITY, FANOUT_CITY]
    ).delete()
    return {"rows of tickets": tickets, "rows of incidents": incidents}


def shops_of(city: str) -> list[Shop]:
    from devices.models import Device

    rows = (
        Device.objects.filter(merchant__city=city)
        .order_by("merchant_id", "pk")
        .values_list("merchant_id", "pk", "merchant__memberships__user__username")
    )
    seen: dict[int, Shop] = {}
    for merchant_id, device_id, username in rows:
        seen.setdefault(merchant_id, Shop(merchant_id, username, device_id))
    return list(seen.values())


def log_in(shops: list[Shop]) -> None:
    """A session per shop, made as Django's test client's `force_login` makes one.

    Through the log-in form (as W1's 8 clients do) 300 shops would cost 300 password
    hashes with the production hasher before every run, which is not what W5 measures.
    The session row and cookie are the ones the form would have made."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    from portal.models import User

    users = {u.username: u for u in User.objects.filter(username__in=[s.username for s in shops])}
    for shop in shops:
        client = DjangoClient()
        client.force_login(users[shop.username])
        shop.cookies = {
            settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value
        }


# --- the burst -----------------------------------------------------------------------


class Rotation:
    """The shop to file for next, round all the shops in turn, shared by the clients.

    A shop comes round again only after every other one, so no two clients ever file
    for one shop at once (8 clients, 300 shops), and the shops file equally often
    (a client slice each would not do: a client whose connection has a gunicorn worker
    to itself files several times as often as the others)."""

    def __init__(self, shops: list[Shop], clients: int) -> None:
        if clients >= len(shops):
            raise BenchError(f"{clients} clients need more than {len(shops)} shops")
        self.shops = shops
        self.taken = 0
        self.lock = threading.Lock()

    def take(self) -> Shop:
        with self.lock:
            shop = self.shops[self.taken % len(self.shops)]
            self.taken += 1
        return shop


def outage_form_data(form: Form, *, again: bool) -> dict:
    """The filing form as a shop of the outage fills it; `again`: the shop's ticket of
    this fault is open, and it files a separate one anyway (the button the per-fault
    rule's refusal offers)."""
    from bench.run import fill_ticket_form

    data = fill_ticket_form(form)
    for name, value in OUTAGE_ANSWERS.items():
        if name in form.fields:
            data[name] = value
    data["action"] = "file_anyway" if again else "file"
    return data


def file_outage_fault(client: Client, shop: Shop) -> None:
    """W5's transaction: GET the filing form for the shop's terminal, POST it."""
    client.cookies = shop.cookies  # this shop's browser: its cookie jar, kept up to date
    path = "/tickets/new/?" + urlencode({"device": shop.device_id, "category": "network"})
    page = expect(client.get(path), 200, "GET filing form")
    # The filing form, not the "Me too" form the known-problem warning puts above it.
    forms = [
        f
        for f in parse_forms(page.text)
        if f.method.lower() == "post" and "description" in f.fields
    ]
    symptom = forms[0].fields.get("symptom") if forms else None
    if symptom is None or "host" not in symptom.options:
        raise BenchError("no network filing form with the 'host' symptom")
    data = outage_form_data(forms[0], again=shop.filed > 0)
    response = client.submit(path, forms[0], data)
    if response.status in (302, 303) and "/accounts/login/" not in (
        response.header("Location") or ""
    ):
        shop.filed += 1
        return
    from bench.run import form_errors

    raise BenchError(f"POST answered {response.status}: {form_errors(response.text)}")


def action_for(rotation: Rotation) -> Callable[[Client], None]:
    def action(client: Client) -> None:
        file_outage_fault(client, rotation.take())

    return action


@dataclass
class BurstCheck:
    tickets: int
    filed: int
    linked: int
    incidents: int
    incident_id: int | None
    latencies_ms: list[float]
    waited_s: float

    @property
    def ok(self) -> bool:
        return (
            self.filed > 0
            and self.tickets == self.filed
            and self.incidents == 1
            and self.linked == self.tickets
        )

    def describe(self) -> str:
        return (
            f"{self.tickets} tickets in DB for {self.filed} accepted POSTs, "
            f"{self.incidents} incident(s) opened, {self.linked} linked to "
            f"incident {self.incident_id}"
        )


def check_burst(meta, first_id: int, filed: int, wait: float = 60) -> BurstCheck:  # noqa: ANN001
    """After the clients stop: wait for the worker to route and link every W5 ticket,
    then read the links and their latency (created_at -> linked_at) from the database."""
    from bench.seed import OUTAGE_CITY
    from outages.detection import area_key
    from outages.models import Incident, IncidentTicket
    from tickets.models import Ticket

    mine = Ticket.objects.filter(pk__gte=first_id, merchant__city=OUTAGE_CITY)
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait and mine.filter(incident_link__isnull=True).exists():
        time.sleep(0.5)
    waited = time.monotonic() - t0
    incidents = list(
        Incident.objects.filter(
            provider_id=meta.outage_provider_id, area_key=area_key(OUTAGE_CITY)
        ).values_list("pk", flat=True)
    )
    incident_id = incidents[0] if len(incidents) == 1 else None
    links = IncidentTicket.objects.filter(ticket__in=mine)
    linked = links.filter(incident_id=incident_id).count() if incident_id else 0
    latencies = sorted(
        (linked_at - created).total_seconds() * 1000
        for linked_at, created in links.values_list("linked_at", "ticket__created_at")
    )
    return BurstCheck(mine.count(), filed, linked, len(incidents), incident_id, latencies, waited)


# --- the fan-out ---------------------------------------------------------------------


def outage_tech(meta):  # noqa: ANN001, ANN201 - Seeded in, a User out
    from portal.models import User

    return User.objects.filter(membership__provider_id=meta.outage_provider_id).order_by("pk")[0]


def fan_out_incident(meta, tickets: int):  # noqa: ANN001, ANN201 - Seeded, an Incident
    """`tickets` open network/host tickets of as many fan-out shops, routed to the
    provider's remote support, written straight into the database, and an incident
    declared over them (`services.declare` links every one)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.seed import FANOUT_CITY
    from outages import services
    from tickets.models import Queue, Ticket, format_reference

    shops = shops_of(FANOUT_CITY)[:tickets]
    if len(shops) < tickets:
        raise BenchError(f"{FANOUT_CITY} has {len(shops)} shops, {tickets} needed")
    from portal.models import User

    users = dict(
        User.objects.filter(username__in=[s.username for s in shops]).values_list("username", "pk")
    )
    queue = Queue.objects.get(provider_id=meta.outage_provider_id, kind=Queue.Kind.REMOTE_SUPPORT)
    now = timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Ticket._meta.db_table, tickets],
            )
            ids = [row[0] for row in cursor.fetchall()]
        Ticket.objects.bulk_create(
            Ticket(
                pk=pk,
                reference=format_reference(pk),
                merchant_id=shop.merchant_id,
                device_id=shop.device_id,
                reporter_id=users[shop.username],
                submission_token=uuid.uuid4(),
                category="network",
                symptom="host",
                can_take_payments="no",
                priority=1,
                description=OUTAGE_ANSWERS["description"],
                callback_phone="13800138000",
                warranty_status="in",
                status=Ticket.Status.QUEUED,
                queue=queue,
                routing_note="Remote support",
                route_attempts=1,
                routed_at=now,
                first_response_due=now + timedelta(hours=1),
                resolution_due=now + timedelta(hours=8),
                created_at=now - timedelta(minutes=5),
            )
            for pk, shop in zip(ids, shops, strict=True)
        )
        incident = services.declare(
            provider=queue.provider,
            user=outage_tech(meta),
            category="network",
            symptoms=["host"],
            city=FANOUT_CITY,
            summary="Bench: payment host unreachable",
            summary_zh_hans="压测：支付主机无法连接",
        )
    linked = incident.links.count()
    if linked != tickets:
        raise BenchError(f"declare linked {linked} of {tickets} tickets")
    return incident


def drop_incident(incident) -> None:  # noqa: ANN001
    from tickets.models import Ticket

    Ticket.objects.filter(incident_link__incident=incident).delete()
    incident.delete()


def count_fan_out_queries(meta, tickets: int) -> tuple[int, float]:  # noqa: ANN001
    """Queries and wall seconds of one fan-out run in this process. The update is made
    by `services.post_update` inside a transaction that also runs the fan-out, so the
    worker's copy of the task, published at commit, finds it sent and does nothing."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from outages import services
    from outages.fanout import fan_out

    incident = fan_out_incident(meta, tickets)
    try:
        with transaction.atomic():
            update = services.post_update(
                incident, outage_tech(meta), "Bench: engineers are on it.", "压测：工程师正在处理。"
            )
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                reached = fan_out(update.pk)
            seconds = time.perf_counter() - t0
        if reached != tickets:
            raise BenchError(f"in-process fan-out reached {reached} of {tickets}")
        return len(ctx.captured_queries), seconds
    finally:
        drop_incident(incident)


@dataclass
class FanOutRun:
    wall_ms: float
    task_ms: float  # fanned_out_at - the update's created_at, both the database's clock
    reached: int
    events: int
    emails: int
    shops: int
    cpu: dict[str, float]  # CPU ms of this fan-out, per process group


def fan_out_by_worker(meta, cpu_read: Callable[[], dict] | None) -> FanOutRun:  # noqa: ANN001
    """One update on an incident of FAN_OUT_TICKETS tickets, fanned out by the real
    worker; timed from the update's commit to the runner seeing `fanned_out_at`."""
    from mail.models import OutboundEmail
    from outages import services
    from outages.models import IncidentUpdate
    from tickets.models import TicketEvent

    incident = fan_out_incident(meta, FAN_OUT_TICKETS)
    try:
        before = cpu_read() if cpu_read else {}
        t0 = time.monotonic()
        update = services.post_update(
            incident, outage_tech(meta), "Bench: engineers are on it.", "压测：工程师正在处理。"
        )
        row = IncidentUpdate.objects.filter(pk=update.pk)
        deadline = t0 + 120
        while time.monotonic() < deadline and row.filter(fanned_out_at__isnull=True).exists():
            time.sleep(0.02)
        wall = (time.monotonic() - t0) * 1000
        after = cpu_read() if cpu_read else {}
        update.refresh_from_db()
        if update.fanned_out_at is None:
            raise BenchError("the worker did not fan the update out within 120 s")
        key = f"incident-update:{update.pk}:"
        emails = OutboundEmail.objects.filter(idempotency_key__startswith=key)
        return FanOutRun(
            wall_ms=wall,
            task_ms=(update.fanned_out_at - update.created_at).total_seconds() * 1000,
            reached=update.tickets_reached,
            events=TicketEvent.objects.filter(
                ticket__incident_link__incident=incident, kind=TicketEvent.Kind.INCIDENT_UPDATE
            ).count(),
            emails=emails.count(),
            shops=emails.values("user__membership__merchant").distinct().count(),
            cpu={
                name: sum(s - before.get(name, {}).get(pid, 0.0) for pid, s in procs.items()) * 1000
                for name, procs in after.items()
            },
        )
    finally:
        drop_incident(incident)


def spread(values: list[float]) -> str:
    """Median and range of several runs, as RESULTS.md quotes them."""
    if not values:
        return "-"
    return f"median {statistics.median(values):.0f} (range {min(values):.0f}-{max(values):.0f})"
