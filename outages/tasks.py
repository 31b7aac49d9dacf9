"""Celery tasks of outages. Each takes ids and calls a service."""

from __future__ import annotations

from celery import shared_task

from tickets.tasks import DB_ERRORS, DB_RETRIES


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=DB_RETRIES,
)
def fan_out_update(update_id: int) -> int:
    """One public incident update to every linked ticket and shop (outages.fanout)."""
    from outages.fanout import fan_out

    return fan_out(update_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_incident_updates() -> int:
    """Beat: queue again the updates whose fan-out the broker never delivered."""
    from outages.services import sweep_updates

    return sweep_updates()
