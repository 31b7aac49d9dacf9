from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(task: Any = None, **kwargs: Any) -> None:  # noqa: ANN401
    """A worker keeps its database connection between tasks as the web does between
    requests: for DB_CONN_MAX_AGE seconds, health-checked before it is used again, and
    closed after an error leaves it unusable.

    Celery's Django fix-up otherwise closes it around every task (unless
    CELERY_DB_REUSE_MAX is set, see the settings), and each task paid for a new
    PostgreSQL connection: a tenth of the worker's time while routing a burst of
    filings (bench/RESULTS.md). Eager tasks run inside the caller's request or test
    transaction and are left alone.
    """
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()
