"""The Celery broker as this process sees it: an outage is said once, not per message.

While Redis is away every publish fails fast (`retry=False`, short timeouts), and each
caller (a filing request, a sweep, a beat tick, the worker's reconnect loop) used to log
its own failure, with a traceback. `outage.failed()` logs one WARNING when an outage
starts and `outage.recovered()` one INFO when the broker answers again. The state is
per process: the web, each worker and beat each say it once, in their own log.

`worker_connected` is sent by the worker each time it has (re)connected to the broker
and is consuming again (portal.worker.AfterConnect): work left waiting while it was
away can be queued at once.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal
from kombu.exceptions import OperationalError

if TYPE_CHECKING:
    from celery import Task

logger = logging.getLogger(__name__)

worker_connected = Signal()


class Outage:
    """Whether this process last found the broker unreachable, since when, how often."""

    def __init__(self) -> None:
        # A gunicorn thread and a Celery thread may report at once: one WARNING still.
        self._lock = threading.Lock()
        self.since: float | None = None
        self.failures = 0

    @property
    def ongoing(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException, *, action: str, announced: bool = False) -> None:
        """The broker could not be reached while doing `action` (e.g. "sending route_ticket").

        `announced`: the caller's own log already said so (Celery's "Connection to
        broker lost" warning); the outage is only noted, so it is not said twice.
        """
        with self._lock:
            starting = self.since is None
            if starting:
                self.since = time.monotonic()
                self.failures = 0
            self.failures += 1
        if starting and not announced:
            logger.warning(
                "The message broker cannot be reached (%s: %s, while %s). Nothing is lost: "
                "the work is kept and queued once the broker is back.",
                type(error).__name__,
                error,
                action,
            )

    def recovered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            seconds = time.monotonic() - self.since
            failures = self.failures
            self.since = None
            self.failures = 0
        logger.info(
            "The message broker is reachable again after %.0f s (%d failed attempts).",
            seconds,
            failures,
        )


outage = Outage()


def is_broker_error(error: BaseException) -> bool:
    """A broker that cannot be reached, as opposed to a bug in what was sent."""
    if isinstance(error, OperationalError | OSError):
        return True
    from portal.celery import app

    # The transport's own errors (redis-py's ConnectionError, TimeoutError, ...): a
    # Connection object is lazy, nothing connects here.
    connection = app.connection_for_write()
    return isinstance(error, connection.connection_errors + connection.channel_errors)


def publish(task: Task, *args: Any, **kwargs: Any) -> bool:  # noqa: ANN401
    """Send `task` now. False, logged once per outage, when the broker cannot be reached.

    `retry=False`: Celery would otherwise keep retrying the publish, holding the
    caller (a merchant's request) for as long as the broker is away.
    """
    try:
        task.apply_async(args, kwargs, retry=False)
    except Exception as error:
        if not is_broker_error(error):
            raise
        outage.failed(error, action=f"sending {task.name}")
        return False
    outage.recovered()
    return True
