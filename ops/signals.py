"""Receivers that carry the log context into Celery and move the metrics.

Connected in OpsConfig.ready(). None of them changes what it listens to: each only
reads, logs and counts, and a failure in one is logged, never raised into a filing or a
routing.

Request id into Celery: `before_task_publish` writes the publishing request's (or
task's) id and ticket reference into the message headers; `task_prerun` in the worker
puts them back into ops.context, so the routing task a filing queued, and the e-mail
tasks that routing queued in turn, log the filing's request id. A task nobody's request
queued (beat, a sweep) uses its own task id. Eager tasks (`make run`) run inside the
request and keep its context.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import signals as celery_signals
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from ops import context
from ops.logs import adopt_handlers
from tickets import hooks

logger = logging.getLogger("posdesk.ops")


def _metrics():  # noqa: ANN202 - the ops.metrics module
    """ops.metrics, imported on first use: a management command (migrate at a container's
    start, a shell) never counts anything, so it leaves no samples file behind in
    PROMETHEUS_MULTIPROC_DIR."""
    from ops import metrics

    return metrics


ROUTE_TASK = "tickets.tasks.route_ticket"
SWEEP_TASK = "tickets.tasks.sweep_unrouted"


def never_raises(function: Callable[..., None]) -> Callable[..., None]:
    """Observability must not break what it observes."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        try:
            function(*args, **kwargs)
        except Exception:
            logger.exception("ops receiver %s failed", function.__name__)

    return wrapper


# Log format of Celery's own handlers ---------------------------------------------------


@celery_signals.after_setup_logger.connect(weak=False)
@celery_signals.after_setup_task_logger.connect(weak=False)
def _adopt_celery_handlers(logger: logging.Logger, **kwargs: Any) -> None:  # noqa: ANN401
    adopt_handlers(logger, log_format=settings.LOG_FORMAT)


# The request id, from publisher to worker ------------------------------------------------


@celery_signals.before_task_publish.connect(weak=False)
def _context_into_headers(
    headers: dict[str, Any] | None = None,
    **kwargs: Any,  # noqa: ANN401
) -> None:
    if headers is None:
        return
    request_id = context.request_id.get()
    if request_id:
        headers[context.REQUEST_ID_HEADER] = request_id
    reference = context.ticket_reference.get()
    if reference:
        headers[context.TICKET_HEADER] = reference


# Per running task, by task id: the context tokens to restore, and when it started
# (monotonic for its duration, wall clock to tell a routing it did from an earlier one's).
# A stack: an eager task's retry runs inside it under the same id.
_running: dict[str, list[tuple[tuple[Any, ...], float, datetime]]] = {}


@celery_signals.task_prerun.connect(weak=False)
def _context_from_headers(task_id: str, task: Any, **kwargs: Any) -> None:  # noqa: ANN401
    request = task.request
    if getattr(request, "is_eager", False):
        # Inside the caller's request or task: its id and ticket stay.
        tokens: tuple[Any, ...] = (context.current_task.set((task.name, task_id)),)
    else:
        request_id = context.valid_request_id(getattr(request, context.REQUEST_ID_HEADER, None))
        tokens = (
            context.current_task.set((task.name, task_id)),
            context.request_id.set(request_id or task_id),
            context.ticket_reference.set(getattr(request, context.TICKET_HEADER, None)),
        )
    _running.setdefault(task_id, []).append((tokens, time.monotonic(), timezone.now()))


@celery_signals.task_postrun.connect(weak=False)
def _task_done(
    task_id: str,
    task: Any,  # noqa: ANN401
    state: str | None = None,
    retval: Any = None,  # noqa: ANN401
    **kwargs: Any,  # noqa: ANN401
) -> None:
    stack = _running.get(task_id) or [((), time.monotonic(), None)]
    tokens, started, _wall = stack.pop()
    if not stack:
        _running.pop(task_id, None)
    try:
        if task.name == SWEEP_TASK and isinstance(retval, dict) and retval.get("requeued"):
            _metrics().SWEEP_REQUEUES.inc(retval["requeued"])
        duration_ms = round((time.monotonic() - started) * 1000, 1)
        logger.info(
            "task %s %s in %.1f ms",
            task.name,
            state,
            duration_ms,
            extra={"state": state, "duration_ms": duration_ms},
        )
    finally:
        # Back to what the caller had (nothing, in a worker between tasks).
        for var, token in zip(
            (context.current_task, context.request_id, context.ticket_reference),
            tokens,
            strict=False,
        ):
            var.reset(token)


@celery_signals.task_retry.connect(weak=False)
@never_raises
def _routing_retried(sender: Any = None, **kwargs: Any) -> None:  # noqa: ANN401
    if getattr(sender, "name", None) == ROUTE_TASK:
        _metrics().ROUTING_TASK_FAILURES.labels(outcome="retry").inc()


@celery_signals.task_failure.connect(weak=False)
@never_raises
def _routing_failed(sender: Any = None, **kwargs: Any) -> None:  # noqa: ANN401
    if getattr(sender, "name", None) == ROUTE_TASK:
        _metrics().ROUTING_TASK_FAILURES.labels(outcome="failure").inc()


# A worker's own metrics port ----------------------------------------------------------------


@celery_signals.worker_ready.connect(weak=False)
@never_raises
def _serve_worker_metrics(**kwargs: Any) -> None:  # noqa: ANN401
    port = settings.METRICS_PORT
    if not port:
        return
    from prometheus_client import start_http_server

    # The queue and outbox gauges are the web's to report: the pool's samples only.
    start_http_server(port, registry=_metrics().registry(with_scrape_collectors=False))
    logger.info("metrics served on port %s", port)


# Tickets ---------------------------------------------------------------------------------


@receiver(hooks.ticket_filed, dispatch_uid="ops_ticket_filed")
@never_raises
def _ticket_filed(sender: Any, ticket: Any, **kwargs: Any) -> None:  # noqa: ANN401
    # The filing's tasks (routing, on commit) carry the reference in their headers.
    context.ticket_reference.set(ticket.reference)
    category, priority = ticket.category, ticket.priority

    def filed() -> None:
        _metrics().TICKETS_FILED.labels(category=category, priority=priority).inc()
        logger.info("ticket %s filed", ticket.reference, extra={"category": category})

    transaction.on_commit(filed, robust=True)


@receiver(hooks.ticket_routed, dispatch_uid="ops_ticket_routed")
@never_raises
def _ticket_routed(sender: Any, ticket: Any, **kwargs: Any) -> None:  # noqa: ANN401
    context.ticket_reference.set(ticket.reference)
    # Sent again when the task runs twice: count only a routing this run did.
    if ticket.routed_at is None:
        return
    running = context.current_task.get()
    if running is not None and _running.get(running[1]):
        if ticket.routed_at < _running[running[1]][-1][2]:
            return
    _metrics().TICKETS_ROUTED.inc()
    latency = (ticket.routed_at - ticket.created_at).total_seconds()
    _metrics().ROUTING_LATENCY.observe(max(latency, 0.0))
    logger.info(
        "ticket %s routed to queue %s",
        ticket.reference,
        ticket.queue_id,
        extra={"queue_id": ticket.queue_id, "routing_latency_s": round(latency, 3)},
    )


def _event_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:  # noqa: ANN401
    if not created:
        return
    from tickets.models import TicketEvent

    if instance.kind == TicketEvent.Kind.SLA_BREACHED:
        which = str((instance.data or {}).get("which", "unknown"))
        transaction.on_commit(
            lambda: _metrics().SLA_BREACHES.labels(which=which).inc(), robust=True
        )
    elif instance.kind == TicketEvent.Kind.ROUTING_FAILED:
        transaction.on_commit(lambda: _metrics().TICKETS_ROUTING_FAILED.inc(), robust=True)


def connect_models() -> None:
    from tickets.models import TicketEvent

    post_save.connect(
        never_raises(_event_saved), sender=TicketEvent, weak=False, dispatch_uid="ops_event_saved"
    )
