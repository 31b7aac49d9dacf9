"""The outbox's settings come from the environment and refuse nonsense."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.conf import settings


def settings_with(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.settings';"
        "from django.conf import settings;"
        "print(settings.EMAIL_OUTBOX_SWEEP_SECONDS, settings.EMAIL_OUTBOX_GIVE_UP,"
        " settings.EMAIL_OUTBOX_BACKOFF_BASE_SECONDS, settings.EMAIL_OUTBOX_BACKOFF_MAX_SECONDS,"
        " settings.EMAIL_OUTBOX_LEASE_SECONDS,"
        " settings.CELERY_BEAT_SCHEDULE['sweep-email-outbox']['schedule'])"
    )
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults() -> None:
    result = settings_with()
    assert result.stdout.split() == ["30", "1", "day,", "0:00:00", "30", "3600", "180", "0:00:30"]


def test_each_comes_from_the_environment() -> None:
    result = settings_with(
        EMAIL_OUTBOX_SWEEP_SECONDS="2",
        EMAIL_OUTBOX_GIVE_UP_HOURS="6",
        EMAIL_OUTBOX_BACKOFF_BASE_SECONDS="1",
        EMAIL_OUTBOX_BACKOFF_MAX_SECONDS="4",
        EMAIL_OUTBOX_LEASE_SECONDS="20",
    )
    assert result.stdout.split() == ["2", "6:00:00", "1", "4", "20", "0:00:02"], result.stderr


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_bad_value_stops_start_up(value: str) -> None:
    result = settings_with(EMAIL_OUTBOX_SWEEP_SECONDS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EMAIL_OUTBOX_SWEEP_SECONDS" in result.stderr
