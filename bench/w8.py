"""W8, the REST API (issue 16): a technician's ticket list and filing, with API keys.

**W8 API ticket list.** `GET /api/v1/tickets/` with a key of a technician of the busiest
provider (34 % of the tickets), 1 client: the first cursor page, newest first. Target:
p99 under 60 ms, at most 8 queries (counted in-process on the same request, with the key).

**W8 API filing.** Merchants file through `POST /api/v1/tickets/` (form-encoded, each with
its own write key), as many clients as W1: every 201 must be a ticket in the database,
routed by the worker. Target: W1's rate or better (W1's figure from the same run when
W1 ran too, else bench/RESULTS.md's).

The keys are created here, before the run (ApiKey.issue), and revoked after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.loadgen import BenchError, Client

LIST_PATH = "/api/v1/tickets/"


def _key_client(port: int, token: str) -> Client:
    client = Client(port)
    client.extra_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return client


def _issue(usernames: list[str], scope: str) -> tuple[dict[str, str], list[int]]:
    from api.models import ApiKey
    from portal.models import User

    tokens, ids = {}, []
    for user in User.objects.filter(username__in=usernames):
        key, token = ApiKey.issue(user=user, name="bench W8", scope=scope)
        tokens[user.username] = token
        ids.append(key.pk)
    return tokens, ids


def _revoke(ids: list[int]) -> None:
    from api.models import ApiKey

    for key in ApiKey.objects.filter(pk__in=ids):
        key.revoke()


def _queries_with_key(token: str, path: str) -> tuple[int, int, float]:
    """Status, queries and SQL time of one warm request with the key, in this process."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(path, secure=True)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path, secure=True)
    sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
    return response.status_code, len(ctx.captured_queries), sql_ms


def _lister(path: str) -> Callable[[Client], None]:
    def action(client: Client) -> None:
        response = client.get(path)
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {response.text[:200]}")

    return action


def _filing_body(device_id: int) -> dict[str, str]:
    return {
        "device": str(device_id),
        "category": "hardware",
        "symptom": "printer",
        "can_take_payments": "degraded",
        "description": "打印机卡纸，小票打不出来 (bench W8, API)",
        "callback_phone": "+86 138 0000 0000",
    }


def _filer(client: Client) -> None:
    response = client.request("POST", "/api/v1/tickets/", form=_filing_body(client.device_id))
    if response.status != 201:
        raise BenchError(f"POST /api/v1/tickets/ answered {response.status}: {response.text[:200]}")
    client.filed += 1


def run(bench, Row, measure_queries) -> None:  # noqa: ANN001, N803 - the runner's types
    from django.db.models import Max

    from devices.models import Device
    from portal.models import User
    from tickets.models import Ticket

    tech = bench.meta.busiest_provider_techs[0]
    merchants = bench.meta.w1_users[: bench.args.clients]
    tokens, key_ids = _issue([tech], "read")
    write_tokens, write_ids = _issue(merchants, "write")
    key_ids += write_ids
    try:
        # The list.
        if bench.port is None:
            status, queries, sql_ms = _queries_with_key(tokens[tech], LIST_PATH)
            bench.rows.append(Row("W8 API ticket list", "-", None, queries, sql_ms, note=LIST_PATH))
            print(f"  W8 API ticket list: {queries} queries, {sql_ms:.1f} ms SQL ({status})")
            return
        status, queries, sql_ms = _queries_with_key(tokens[tech], LIST_PATH)
        if status != 200:
            bench.skip("W8 API ticket list", 1, f"{LIST_PATH} answered {status}")
        else:
            client = _key_client(bench.port, tokens[tech])
            result = bench.phase("W8 API ticket list (1)", [client], _lister(LIST_PATH))
            bench.rows.append(
                Row("W8 API ticket list", 1, result, queries, sql_ms, note=f"{LIST_PATH}, a key")
            )
        # Filing.
        devices = {}
        for user in User.objects.filter(username__in=merchants).select_related("membership"):
            device = (
                Device.objects.filter(merchant_id=user.membership.merchant_id)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first()
            )
            devices[user.username] = device
        clients = []
        for username in merchants:
            if devices.get(username) is None:
                continue
            client = _key_client(bench.port, write_tokens[username])
            client.device_id = devices[username]
            client.filed = 0
            clients.append(client)
        first_id = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        result = bench.phase("W8 API filing", clients, _filer)
        filed = sum(c.filed for c in clients)
        mine = Ticket.objects.filter(pk__gte=first_id)
        # Filing through the API outruns the worker (as W1 can): the check waits until
        # the worker is idle, so "routed" says whether every ticket was, not how fast.
        if bench.cpu:
            bench.cpu_until_worker_idle(result, filed)
        deadline = time.monotonic() + (30 if not bench.cpu else 5)
        while time.monotonic() < deadline and mine.filter(routed_at__isnull=True).exists():
            time.sleep(0.5)
        in_db = mine.count()
        routed = mine.filter(routed_at__isnull=False).exclude(queue=None).count()
        ok = filed > 0 and in_db == filed and routed == in_db
        check = f"{in_db} in DB for {filed} accepted POSTs, {routed} routed"
        print(f"    verify: {check} -> {'ok' if ok else 'MISMATCH'}")
        row = Row(
            "W8 API filing", len(clients), result, note=("verified: " if ok else "CHECK: ") + check
        )
        if bench.w1_rate is not None:
            row.target_text = f">= W1 {bench.w1_rate:.1f}/s"
            row.passed = ok and result.rate >= bench.w1_rate
        bench.rows.append(row)
    finally:
        _revoke(key_ids)
