from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reports import rollups


@shared_task(ignore_result=True)
def rollup_touched() -> int:
    """Rebuild the days before today that tickets were touched on (beat)."""
    return rollups.rebuild_touched()


@shared_task(ignore_result=True)
def rollup_refresh() -> int:
    """Rebuild the last REPORTS_REFRESH_DAYS days whole (beat, daily)."""
    return rollups.refresh_recent(settings.REPORTS_REFRESH_DAYS)
