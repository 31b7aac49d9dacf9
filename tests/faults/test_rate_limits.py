"""Rate limits hold across processes: two gunicorn workers count into one Redis.

A burst of filings from one shop, sent in parallel so both workers take some, files
exactly RATE_LIMIT_FILING tickets; every other answer is 429 with the reason. With
each worker counting in its own memory (no CACHE_URL), the shop got twice the limit.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import PASSWORD, DeviceFactory
from tests.faults.services import PrivateRedis, WebServer, django_env, missing
from tests.integration.conftest import database_url_for_tests
from tests.webclient import Response, WebClient
from tickets.models import Ticket
from tickets.tests.filing_helpers import filing_data

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

LIMIT = 5
BURST = 16


def test_the_filing_limit_holds_across_two_gunicorn_workers(
    world,  # noqa: ANN001
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("a PostgreSQL test database (DATABASE_URL)")
    # One terminal per report: the limit is what refuses them, not "already open".
    devices = [
        DeviceFactory(merchant=world.merchant_a, provider=world.provider_x) for _ in range(BURST)
    ]
    env = django_env(
        DJANGO_SETTINGS_MODULE="portal.settings_test",
        DATABASE_URL=database_url_for_tests(),
        DB_CONN_MAX_AGE="0",
        DEBUG="false",
        CACHE_URL=private_redis.url,
        RATE_LIMIT_FILING=f"{LIMIT}/10m",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    server = WebServer(env, tmp_path, workers=2)
    server.start()
    try:
        first = WebClient(server.url)
        assert first.log_in("alice", PASSWORD).status == 302
        first.get("/tickets/new/")

        def file(device_index: int) -> Response:
            client = WebClient(server.url)
            for cookie in first.cookies:
                client.cookies.set_cookie(cookie)
            data = {k: str(v) for k, v in filing_data(devices[device_index]).items()}
            return client.post("/tickets/new/", data)

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            answers = list(pool.map(file, range(BURST)))
    finally:
        server.stop()

    log = server.log()
    statuses = Counter(answer.status for answer in answers)
    assert statuses == {302: LIMIT, 429: BURST - LIMIT}, (statuses, log[-3000:])
    for answer in answers:
        if answer.status == 429:
            assert f"Your shop has filed {LIMIT} tickets within 10 minutes" in answer.body
            assert int(answer.headers["Retry-After"]) > 0
    assert Ticket.objects.filter(merchant=world.merchant_a).count() == LIMIT
    # Both workers answered filings: the count really was shared between processes.
    pids = set(re.findall(r'pid=<?(\d+)>? "POST /tickets/new/', log))
    assert len(pids) == 2, log[-3000:]
