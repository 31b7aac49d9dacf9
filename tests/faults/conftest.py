"""Fixtures for fault injection: a private Redis, and Celery processes stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.services import CeleryProcess, PrivateRedis, missing
from tests.integration.conftest import database_url_for_tests


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def celery_process(tmp_path: Path) -> Iterator[Callable[..., CeleryProcess]]:
    """`celery_process("worker", broker_url=..., env={...})` starts one; all stop at teardown."""
    # Worker processes share the test database over the network: PostgreSQL only.
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing("a PostgreSQL test database (DATABASE_URL)")
    started: list[CeleryProcess] = []

    def start(
        kind: str, *, broker_url: str, env: dict[str, str] | None = None, pool: str = "solo"
    ) -> CeleryProcess:
        process = CeleryProcess(
            kind,
            broker_url=broker_url,
            database_url=database_url_for_tests(),
            logdir=tmp_path,
            env=env,
            pool=pool,
        )
        started.append(process)
        process.start()
        return process

    yield start
    # Side by side: each waits for its own warm shutdown, so they take as long as one.
    with ThreadPoolExecutor(max_workers=max(1, len(started))) as pool:
        list(pool.map(CeleryProcess.stop, reversed(started)))
