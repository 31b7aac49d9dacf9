"""Celery tasks of the devices app. Each calls a service."""

from __future__ import annotations

from celery import shared_task


# Longer limits than the default: a daily run may have hundreds of shops (each one
# transaction that renders and writes its e-mails to the outbox, which sends them).
# Cut short, it loses nothing: each shop is committed on its own, the rest go the next day.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def send_warranty_reminders() -> int:
    """Beat, daily: e-mail each shop once about terminals whose warranty ends soon."""
    from devices.reminders import send_warranty_reminders as send

    return send()
