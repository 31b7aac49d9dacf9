"""Readiness: can this process serve a request that files a ticket?

Three checks, each run in a thread of its own and given READINESS_TIMEOUT_SECONDS:

- `database`: `SELECT 1` on a connection of its own (closed afterwards);
- `broker`: a Redis `PING` to CELERY_BROKER_URL ("eager" when no broker is set: tasks
  then run in the request, as with `make run`);
- `storage`: the default storage answers (portal.storage.check_media_storage): the
  media folder is a writable directory (or can become one), or the S3 bucket answers.

Our own rather than django-health-check: three checks of a few lines each, and the
timeout is the point (a stopped PostgreSQL that drops packets makes a connect hang for
minutes); a thread per check gives it whatever the client library does. The answer holds
no host names, URLs or error messages (only the exception's class): it is public.

A check still running from an earlier probe is not started again: it fails at once
("busy"), so a hung database does not pile up one stuck thread per probe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass
class Result:
    ok: bool
    ms: int
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        answer: dict[str, object] = {"ok": self.ok, "ms": self.ms}
        if self.detail:
            answer["detail"] = self.detail
        return answer


def check_database() -> str:
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # A thread of its own: its connection would otherwise stay open until it is
        # garbage collected.
        connection.close()
    return ""


def check_broker() -> str:
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    import redis

    timeout = readiness_timeout()
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()
    return ""


def check_storage() -> str:
    # The storage's own check (portal.storage): a writable media folder, or a HEAD on
    # the S3 bucket with our credentials.
    from portal.storage import check_media_storage

    check_media_storage(readiness_timeout())
    return ""


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}

_running: dict[str, threading.Thread] = {}
_running_lock = threading.Lock()


def readiness_timeout() -> float:
    return float(getattr(settings, "READINESS_TIMEOUT_SECONDS", 2))


def _run_all(timeout: float) -> dict[str, Result]:
    started = time.monotonic()
    outcomes: dict[str, tuple[bool, str]] = {}
    threads: dict[str, threading.Thread] = {}

    def run(name: str, check: Callable[[], str]) -> None:
        try:
            outcomes[name] = (True, check())
        except Exception as error:  # noqa: BLE001 - any failure is "not ready"
            logger.warning("readiness check %s failed: %s: %s", name, type(error).__name__, error)
            outcomes[name] = (False, type(error).__name__)
        finally:
            with _running_lock:
                _running.pop(name, None)

    busy: set[str] = set()
    with _running_lock:
        for name, check in CHECKS.items():
            if name in _running:
                busy.add(name)
                continue
            # A daemon thread: one that hangs past the timeout never holds up an exit.
            thread = threading.Thread(target=run, args=(name, check), daemon=True)
            _running[name] = thread
            threads[name] = thread
    for thread in threads.values():
        thread.start()
    results: dict[str, Result] = {}
    for name in CHECKS:
        if name in busy:
            results[name] = Result(ok=False, ms=0, detail="busy")
            continue
        thread = threads[name]
        thread.join(max(0.0, timeout - (time.monotonic() - started)))
        ms = int((time.monotonic() - started) * 1000)
        if thread.is_alive():
            logger.warning("readiness check %s timed out after %.1f s", name, timeout)
            results[name] = Result(ok=False, ms=ms, detail="timeout")
        else:
            ok, detail = outcomes[name]
            results[name] = Result(ok=ok, ms=ms, detail=detail)
    return results


def readiness() -> tuple[bool, dict[str, object]]:
    """(ready, the JSON answer)."""
    results = _run_all(readiness_timeout())
    ready = all(result.ok for result in results.values())
    return ready, {
        "status": "ok" if ready else "fail",
        "checks": {name: result.as_dict() for name, result in results.items()},
    }
