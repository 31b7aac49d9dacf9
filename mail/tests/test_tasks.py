"""The outbox's Celery tasks: on the `email` queue, acknowledged after the work, swept by beat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail

from mail import tasks
from mail.models import OutboundEmail
from mail.tests.helpers import email

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("task", [tasks.send_emails, tasks.sweep_outbox])
def test_the_tasks_run_on_the_email_queue_and_survive_a_lost_worker(task) -> None:  # noqa: ANN001
    assert settings.CELERY_TASK_ROUTES[task.name] == {"queue": "email"}
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True


def test_beat_sweeps_the_outbox_as_often_as_configured() -> None:
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == tasks.sweep_outbox.name
    ]
    assert entry["schedule"] == timedelta(seconds=settings.EMAIL_OUTBOX_SWEEP_SECONDS)


def test_the_send_task_sends_its_rows_only() -> None:
    mine, other = email(), email()
    assert tasks.send_emails.apply(args=([mine.pk],)).get() == 1
    assert [m.to for m in mail.outbox] == [[mine.recipient]]
    other.refresh_from_db()
    assert other.status == OutboundEmail.Status.PENDING


def test_a_task_delivered_twice_sends_once() -> None:
    row = email()
    assert tasks.send_emails.apply(args=([row.pk],)).get() == 1
    assert tasks.send_emails.apply(args=([row.pk],)).get() == 0
    assert len(mail.outbox) == 1


def test_the_sweep_task_sends_what_is_due() -> None:
    email(), email()
    assert tasks.sweep_outbox.apply().get() == {"sent": 2, "retrying": 0, "failed": 0}
