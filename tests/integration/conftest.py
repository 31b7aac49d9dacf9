"""Integration tests: real PostgreSQL, real Redis, a real `celery -A portal worker`.

Reusable pieces (fault-injection tests use them too):

- `start_worker(broker_url=...)` starts a worker subprocess against the TEST database
  and the given broker; `Worker.stop()` stops exactly that process (by its PID and
  the process group it leads). Every worker started here is also stopped at the end
  of the session, and at interpreter exit, so none survives a test run.
- the `celery_worker_factory` fixture starts workers and stops them after the test;
  `celery_worker` is one worker on the test Redis (env TEST_REDIS_URL, default
  redis://127.0.0.1:6379/15).
- `publishing_to(url)` makes this process publish tasks to `url` instead of running
  them eagerly, and restores the app afterwards.

Without Redis or PostgreSQL the tests are skipped, except under CI=true, where a
missing service is a failure (a test that never runs proves nothing).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from portal.celery import app as celery_app
from tests.waiting import wait_until

PROJECT_DIR = Path(settings.BASE_DIR)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
WORKER_READY_TIMEOUT = 60


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def service_missing(what: str) -> None:
    if under_ci():
        pytest.fail(f"{what} is required for the integration tests under CI=true")
    pytest.skip(f"{what} is not reachable")


def redis_url_from_env() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


# Services ---------------------------------------------------------------------------------


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


def _postgres_answers() -> bool:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return False
    import psycopg

    try:
        with psycopg.connect(
            host=db.get("HOST") or "127.0.0.1",
            port=db.get("PORT") or 5432,
            user=db.get("USER") or "postgres",
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session", autouse=True)
def integration_services() -> str:
    """Runs before the test database is set up: skip (or, under CI, fail) early."""
    if not _postgres_answers():
        service_missing("PostgreSQL (DATABASE_URL)")
    url = redis_url_from_env()
    if not _redis_answers(url):
        service_missing(f"Redis ({url})")
    return url


@pytest.fixture
def redis_url(integration_services: str) -> Iterator[str]:
    """The test broker, emptied of queued tasks before and after each test."""
    _purge(integration_services)
    yield integration_services
    _purge(integration_services)


def _purge(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    # Only the keys Celery's Redis transport uses for the project's two queues.
    client.delete("celery", "email", "unacked", "unacked_index", "unacked_mutex")


@pytest.fixture
def default_routing_data(transactional_db: None) -> None:
    """The routing rules, platform triage queue and checks of the data migration.

    A transactional test's flush empties every table; the migration's own function
    (idempotent) puts the defaults back. `serialized_rollback` is not used: it breaks
    once any transactional test without it has flushed (content types get new ids).
    """
    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0002_default_rules")
    migration.forwards(apps, None)


# The worker -------------------------------------------------------------------------------


def database_url_for_tests() -> str:
    """DATABASE_URL of the test database (call inside a test: the name is set by then)."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "postgres", safe="")
    password = db.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


@dataclass
class Worker:
    proc: subprocess.Popen
    broker_url: str
    log_path: Path
    name: str
    _log_file: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        """Warm shutdown, then a kill: only this worker's own process group, by PID."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        with contextlib.suppress(ValueError):
            _STARTED.remove(self)


_STARTED: list[Worker] = []


@atexit.register
def _stop_all_workers() -> None:
    for worker in list(_STARTED):
        worker.stop(timeout=5)


def start_worker(
    *,
    broker_url: str,
    database_url: str | None = None,
    pool: str = "solo",
    concurrency: int = 1,
    extra_env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    wait: bool = True,
) -> Worker:
    """Start `celery -A portal worker` on the test database and `broker_url`.

    The worker uses portal.settings_test, consumes both queues (`celery` first), and closes
    its database connections after each task (DB_CONN_MAX_AGE=0), so the test
    database can be flushed or dropped as soon as it stops.
    """
    name = f"itest-{uuid.uuid4().hex[:8]}@%h"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": database_url or database_url_for_tests(),
        "CELERY_BROKER_URL": broker_url,
        "DB_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="posdesk-worker-"))
    log_path = log_dir / "worker.log"
    log_file = log_path.open("w")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "-Q",
        "celery,email,webhooks",
        "-n",
        name,
        "-l",
        "INFO",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        cwd=PROJECT_DIR,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        # Its own process group, so stopping it takes its pool children and nothing else.
        start_new_session=True,
    )
    worker = Worker(proc=proc, broker_url=broker_url, log_path=log_path, name=name)
    worker._log_file = log_file
    _STARTED.append(worker)
    if wait and not wait_until(
        lambda: " ready." in worker.log() or not worker.alive(), timeout=WORKER_READY_TIMEOUT
    ):
        worker.stop()
        pytest.fail(f"the Celery worker did not start:\n{worker.log()[-4000:]}")
    if wait and not worker.alive():
        log = worker.log()
        worker.stop()
        pytest.fail(f"the Celery worker exited:\n{log[-4000:]}")
    return worker


@pytest.fixture
def celery_worker_factory(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """`start(broker_url=..., **kwargs)` starts a worker; all are stopped after the test."""
    started: list[Worker] = []

    def start(broker_url: str, **kwargs: object) -> Worker:
        log_dir = tmp_path / f"worker-{len(started)}"
        log_dir.mkdir()
        worker = start_worker(broker_url=broker_url, log_dir=log_dir, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(celery_worker_factory: Callable[..., Worker], redis_url: str) -> Worker:
    return celery_worker_factory(redis_url)


@pytest.fixture(scope="session", autouse=True)
def _no_worker_survives() -> Iterator[None]:
    yield
    _stop_all_workers()


# Publishing from the test process ---------------------------------------------------------------


def _reset_producer_pools() -> None:
    # Celery and kombu cache the connection pools of the broker first talked to:
    # drop them all, so the next task is published on a fresh connection to the new URL.
    from kombu import pools

    with contextlib.suppress(Exception):
        pools.reset()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextlib.contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Tasks sent from this process go to `url` (not run eagerly) inside the block."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, os.environ.get("CELERY_BROKER_URL"))
    conf.task_always_eager = False
    conf.broker_url = url
    # Celery reads the environment variable before its own setting.
    os.environ["CELERY_BROKER_URL"] = url
    _reset_producer_pools()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url = saved[0], saved[1]
        if saved[2] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved[2]
        _reset_producer_pools()


@pytest.fixture
def publish(redis_url: str) -> Iterator[Callable[[str], contextlib.AbstractContextManager]]:
    """Inside the test, `with publish(url):` switches; the test Redis is the default."""
    with publishing_to(redis_url):
        yield publishing_to
