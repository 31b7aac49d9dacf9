"""/readyz under gunicorn, against a private PostgreSQL and a private Redis this test
starts: 200 while both answer; 503 within READINESS_TIMEOUT_SECONDS when either is
stopped, or hangs (SIGSTOP: the port still accepts, nothing answers); 200 again once it
is back. /healthz answers 200 throughout: the process itself is fine.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.services import (
    PrivatePostgres,
    PrivateRedis,
    WebServer,
    django_env,
    private_postgres,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.faults

TIMEOUT = 2
# The answer may take the timeout plus a request's own time on a busy machine.
WITHIN = TIMEOUT + 1.5


def get(url: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - ours
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body), time.monotonic() - started


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as cluster:
        cluster.create_database("readyz")
        yield cluster


@pytest.fixture
def web(postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path) -> Iterator[str]:
    env = django_env(
        DJANGO_SETTINGS_MODULE="portal.settings_test",
        DATABASE_URL=postgres.url("readyz"),
        CELERY_BROKER_URL=private_redis.url,
        DB_CONN_MAX_AGE="0",
        DEBUG="false",
        MEDIA_ROOT=str(tmp_path / "media"),
        READINESS_TIMEOUT_SECONDS=str(TIMEOUT),
    )
    server = WebServer(env, tmp_path)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def wait_ready(url: str) -> None:
    assert wait_until(lambda: get(url + "/readyz")[0] == 200, timeout=20, interval=0.5)


def test_readyz_fails_fast_when_redis_is_stopped_or_hangs_and_recovers(
    web: str, private_redis: PrivateRedis
) -> None:
    status, answer, _ = get(web + "/readyz")
    assert status == 200, answer
    assert answer["status"] == "ok"
    assert {name for name, check in answer["checks"].items() if check["ok"]} == {
        "database",
        "broker",
        "storage",
    }

    private_redis.stop()
    status, answer, took = get(web + "/readyz")
    assert status == 503
    assert took < WITHIN
    assert answer["checks"]["broker"]["ok"] is False
    assert answer["checks"]["database"]["ok"] is True
    # Nothing secret in a public answer: no URL, host or port.
    assert str(private_redis.port) not in json.dumps(answer)
    assert get(web + "/healthz")[0] == 200

    private_redis.start()
    wait_ready(web)

    # Hung, not gone: the kernel still accepts connections, Redis answers nothing.
    os.kill(private_redis.proc.pid, signal.SIGSTOP)
    try:
        status, answer, took = get(web + "/readyz")
        assert status == 503
        assert answer["checks"]["broker"] == {
            "ok": False,
            "ms": answer["checks"]["broker"]["ms"],
            "detail": "timeout",
        }
        assert TIMEOUT - 0.5 < took < WITHIN
    finally:
        os.kill(private_redis.proc.pid, signal.SIGCONT)
    wait_ready(web)


def test_readyz_fails_fast_when_postgresql_is_stopped_or_hangs_and_recovers(
    web: str, postgres: PrivatePostgres
) -> None:
    assert get(web + "/readyz")[0] == 200

    postmaster = postgres.pid()
    os.kill(postmaster, signal.SIGSTOP)  # new connections wait for a fork that never comes
    try:
        status, answer, took = get(web + "/readyz")
        assert status == 503
        assert answer["checks"]["database"]["detail"] == "timeout"
        assert answer["checks"]["broker"]["ok"] is True
        assert took < WITHIN
    finally:
        os.kill(postmaster, signal.SIGCONT)
    wait_ready(web)

    postgres.stop()
    status, answer, took = get(web + "/readyz")
    assert status == 503
    assert answer["checks"]["database"] == {
        "ok": False,
        "ms": answer["checks"]["database"]["ms"],
        "detail": "OperationalError",
    }
    assert took < WITHIN
    assert get(web + "/healthz")[0] == 200

    postgres.start()
    wait_ready(web)
