"""Celery tasks of the devices app. Each calls a service."""

from __future__ import annotations

from celery import shared_task


# Longer limits than the default: one SMTP conversation per shop (each up to
# EMAIL_TIMEOUT), and a daily run may have hundreds of shops. Cut short, it loses
# nothing: each shop is committed once its e-mail is sent, the rest go the next day.
@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def send_warranty_reminders() -> int:
    """Beat, daily: e-mail each shop once about terminals whose warranty ends soon."""
    from devices.reminders import send_warranty_reminders as send

    return send()
