"""Celery tasks of the outbox, on the `email` queue. Each calls a service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


# No autoretry: a row that could not be sent keeps its own retry time, and the sweep
# sends it then. acks_late + reject_on_worker_lost: a task lost with its worker comes
# back, and finds its rows claimed (nothing to do) or free again.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_emails(email_ids: list[int]) -> int:
    """Send the outbox rows just written for one event or reminder."""
    from mail.services import deliver

    return deliver(email_ids).sent


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_outbox() -> dict[str, int]:
    """Beat: send what is due (never delivered, retry time come, dead worker's)."""
    from mail.services import sweep

    result = sweep()
    if any(result.values()):
        logger.info("sweep_outbox: %s", result)
    return result
