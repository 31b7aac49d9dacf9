"""Prometheus metrics (prometheus-client), correct with many processes.

With PROMETHEUS_MULTIPROC_DIR set (compose, any gunicorn with several workers, Celery's
prefork pool), each process writes its samples to files in that folder and a scrape adds
them up (prometheus-client's multiprocess mode); without it (`make run`) they live in
this process. Chosen over django-prometheus: its own counters are per process too and
need this same multiprocess mode under gunicorn, and it swaps the database and cache
backends for instrumented ones; what operators need here is a dozen business metrics
and request latency by view, which a middleware and a few signal receivers give.

Where they move (ops.signals): request latency in ops.middleware; filed and routed on
tickets.hooks' signals, after the commit; routing-task failures and retries, sweeper
re-queues from Celery's task signals; SLA breaches and tickets whose routing gave up
from their timeline events, after the commit. Read at scrape: the Celery queue lengths
(Redis list lengths) and the e-mail outbox backlog.

Served at /metrics behind METRICS_TOKEN (ops.views.metrics) and, in a worker with
METRICS_PORT, on a port of its own (ops.signals).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

# The folder must exist before the first sample is written (it is read at import).
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import (  # noqa: E402 - after the folder exists
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "posdesk_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TICKETS_FILED = Counter(
    "posdesk_tickets_filed_total",
    "Tickets filed (committed), by fault category and priority at filing.",
    ["category", "priority"],
)
TICKETS_ROUTED = Counter(
    "posdesk_tickets_routed_total",
    "Tickets routed to a queue (each once, however often the task ran).",
)
TICKETS_ROUTING_FAILED = Counter(
    "posdesk_tickets_routing_failed_total",
    "Tickets flagged for an admin after ROUTING_MAX_ATTEMPTS failed routing runs.",
)
ROUTING_TASK_FAILURES = Counter(
    "posdesk_routing_task_failures_total",
    "Runs of route_ticket that raised: `retry` (Celery tries again) or `failure` (gave up).",
    ["outcome"],
)
ROUTING_LATENCY = Histogram(
    "posdesk_routing_latency_seconds",
    "From the filing's commit to the ticket being routed.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
SWEEP_REQUEUES = Counter(
    "posdesk_sweeper_requeued_total",
    "Tickets the sweeper queued for routing again (left `new` past the grace period).",
)
SLA_BREACHES = Counter(
    "posdesk_sla_breaches_total",
    "SLA breaches marked, by which target (first_response, resolution).",
    ["which"],
)

# The Celery queues (settings.CELERY_TASK_QUEUES) and kombu's Redis keys for their
# priority levels: a task sent with a priority waits in "<queue>\x06\x16<n>".
PRIORITY_STEPS = (0, 3, 6, 9)
_SEP = "\x06\x16"


def queue_keys(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{_SEP}{step}" for step in PRIORITY_STEPS]


class QueueDepthCollector(Collector):
    """Tasks waiting in each Celery queue, read from Redis at scrape (LLEN)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.conf import settings

        family = GaugeMetricFamily(
            "posdesk_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
        )
        if settings.CELERY_TASK_ALWAYS_EAGER:
            yield family
            return
        import redis

        queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
        try:
            client = redis.Redis.from_url(
                settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
            )
            with client.pipeline(transaction=False) as pipe:
                for queue in queues:
                    for key in queue_keys(queue):
                        pipe.llen(key)
                lengths = pipe.execute()
            client.close()
        except (redis.RedisError, OSError) as error:
            # A scrape must not fail with the broker: /readyz says the broker is down.
            logger.warning("metrics: queue lengths unreadable: %s", type(error).__name__)
            yield family
            return
        steps = len(PRIORITY_STEPS)
        for n, queue in enumerate(queues):
            family.add_metric([queue], sum(lengths[n * steps : (n + 1) * steps]))
        yield family


class OutboxCollector(Collector):
    """E-mails not yet sent (pending, sending) and given up (failed), read at scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db import DatabaseError
        from django.db.models import Count

        from mail.models import OutboundEmail

        family = GaugeMetricFamily(
            "posdesk_email_outbox",
            "E-mails in the outbox by status: pending and sending are the backlog.",
            labels=["status"],
        )
        unfinished = [OutboundEmail.Status.PENDING, OutboundEmail.Status.SENDING]
        counts = dict.fromkeys([*unfinished, OutboundEmail.Status.FAILED], 0)
        try:
            # Two queries, each on an index: the partial one of unfinished rows, and the
            # status one for failures.
            for row in (
                OutboundEmail.objects.filter(status__in=unfinished)
                .values("status")
                .annotate(n=Count("pk"))
            ):
                counts[row["status"]] = row["n"]
            counts[OutboundEmail.Status.FAILED] = OutboundEmail.objects.filter(
                status=OutboundEmail.Status.FAILED
            ).count()
        except DatabaseError as error:
            logger.warning("metrics: outbox unreadable: %s", type(error).__name__)
            yield family
            return
        for status, n in counts.items():
            family.add_metric([str(status)], n)
        yield family


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry(*, with_scrape_collectors: bool = True) -> CollectorRegistry:
    """What a scrape reads: every process's samples, plus the queue and outbox gauges."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessRegistry())
    if with_scrape_collectors:
        registry.register(QueueDepthCollector())
        registry.register(OutboxCollector())
    return registry


class _ProcessRegistry(Collector):
    """This process's own metrics (no multiprocess folder): the default registry."""

    def collect(self) -> Iterator[object]:
        yield from REGISTRY.collect()


def status_class(status: int) -> str:
    return f"{status // 100}xx"
