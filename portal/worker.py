"""Celery's worker consumer and beat scheduler, made to live with a broker that goes away.

Named by the settings (CELERY_WORKER_CONSUMER, CELERY_BEAT_SCHEDULER), so the usual
`celery -A portal worker` and `celery -A portal beat` commands use them:

- the worker tries to reach the broker again every BROKER_RECONNECT_SECONDS at most
  (Celery's default backs off to 30 s, and a ticket waited that long after Redis was
  back), says the outage once (portal.broker), and after each (re)connection sends
  `worker_connected`, on which tickets queues the routing of what was filed meanwhile;
- beat says the outage once instead of an error at every retry and a traceback at
  every tick.
"""

from __future__ import annotations

import logging
import warnings
from functools import partial
from typing import Any

from celery import bootsteps
from celery.beat import PersistentScheduler, ScheduleEntry, SchedulingError
from celery.exceptions import CPendingDeprecationWarning
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.tasks import Tasks
from django.conf import settings
from kombu import Connection

from portal import broker

logger = logging.getLogger(__name__)

# Celery 5 warns at every lost connection that CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_
# ON_CONNECTION_LOSS will default to True in Celery 6; the settings choose False.
warnings.filterwarnings(
    "ignore",
    message=r"\s*In Celery 5\.1 we introduced an optional breaking change",
    category=CPendingDeprecationWarning,
)


class Consumer(CeleryConsumer):
    class Blueprint(CeleryConsumer.Blueprint):
        default_steps = [*CeleryConsumer.Blueprint.default_steps, "portal.worker:AfterConnect"]

    def ensure_connected(self, conn: Connection) -> Connection:
        # The class's method: wrapping a wrapper would pass the intervals twice.
        ensure = partial(type(conn).ensure_connection, conn)

        def note(error: BaseException, interval: float) -> None:
            # Instead of Celery's errback, which logs an ERROR at every retry.
            broker.outage.failed(error, action="connecting to consume tasks")

        def patiently(errback: Any = None, max_retries: int | None = None, **kwargs: Any) -> Any:
            kwargs.update(
                interval_start=1, interval_step=1, interval_max=settings.BROKER_RECONNECT_SECONDS
            )
            connected = ensure(note, max_retries, **kwargs)
            broker.outage.recovered()
            return connected

        conn.ensure_connection = patiently
        return super().ensure_connected(conn)

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        # Celery warns "Connection to broker lost" itself (without a traceback since 5.5).
        broker.outage.failed(exc, action="consuming tasks", announced=True)
        super().on_connection_error_after_connected(exc)


class AfterConnect(bootsteps.StartStopStep):
    """Sends `worker_connected` once the worker consumes again, at start and after
    every reconnection (a consumer step's `start` runs on each connection)."""

    requires = (Tasks,)

    def start(self, c: Consumer) -> None:
        try:
            broker.worker_connected.send(sender=type(self))
        except Exception:
            # A receiver's failure must not stop the worker from consuming.
            logger.exception("A worker_connected receiver failed")


class Scheduler(PersistentScheduler):
    def _ensure_connected(self) -> Connection:
        # Beat connects when it first sends, and blocks there until the broker answers:
        # Celery's errback logs an ERROR at every retry.
        def note(error: BaseException, interval: float) -> None:
            broker.outage.failed(error, action="connecting to send scheduled tasks")

        connection = self.connection.ensure_connection(
            note,
            self.app.conf.broker_connection_max_retries,
            interval_start=1,
            interval_step=1,
            interval_max=settings.BROKER_RECONNECT_SECONDS,
        )
        broker.outage.recovered()
        return connection

    def apply_async(
        self,
        entry: ScheduleEntry,
        producer: Any = None,
        advance: bool = True,
        **kwargs: Any,
    ) -> Any:
        try:
            result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except SchedulingError as error:
            cause = error.__context__
            if cause is None or not broker.is_broker_error(cause):
                raise
            # The next tick sends it again; beat's own "Message Error" would log a
            # traceback every tick for as long as the broker is away.
            broker.outage.failed(cause, action=f"sending {entry.task}")
            return None
        broker.outage.recovered()
        return result
