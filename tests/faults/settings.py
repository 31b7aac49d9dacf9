"""Settings for the processes a fault-injection test starts (Celery worker and beat).

The test settings, plus what makes a fault observable in seconds instead of an hour:
a short Redis visibility timeout (an unacknowledged task of a killed worker comes
back quickly). The routing settings (ROUTING_SWEEP_SECONDS, ...) are read from the
environment as in production, so a test shortens them the same way.
"""

from __future__ import annotations

from portal.env import env_int
from portal.settings_test import *  # noqa: F403
from portal.settings_test import CELERY_BEAT_SCHEDULE, CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": env_int("FAULTS_VISIBILITY_TIMEOUT", 3600),
    # Look for abandoned (unacknowledged) tasks every second.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
# Only the routing sweep, at the production period: ROUTING_SWEEP_SECONDS in the
# environment of the beat a test starts shortens it.
CELERY_BEAT_SCHEDULE = {
    "sweep-unrouted-tickets": CELERY_BEAT_SCHEDULE["sweep-unrouted-tickets"],
}
