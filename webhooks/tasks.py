"""Celery tasks of the webhooks, on the `webhooks` queue. Each calls a service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


# No autoretry: a delivery that failed keeps its own retry time (exponential backoff),
# and the sweep sends it then. A task lost with its worker comes back (acks_late) and
# finds its rows claimed (nothing to do) or free again.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_webhooks(delivery_ids: list[int]) -> dict[str, int]:
    """Send the deliveries just written for one event."""
    from webhooks.services import deliver

    return deliver(delivery_ids)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_webhooks() -> dict[str, int]:
    """Beat: send what is due (never queued, retry time come, dead worker's)."""
    from webhooks.services import sweep

    result = sweep()
    if any(result.values()):
        logger.info("sweep_webhooks: %s", result)
    return result
