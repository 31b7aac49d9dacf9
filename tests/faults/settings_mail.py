"""Settings for the worker and beat of the e-mail fault tests: the fault settings, plus
the outbox's sweep in beat and a real SMTP server (the test's own sink, from EMAIL_HOST
and EMAIL_PORT) instead of the in-memory mailbox. The outbox's periods and backoff are
read from the environment as in production (EMAIL_OUTBOX_SWEEP_SECONDS, ...), so a test
shortens them the same way.
"""

from __future__ import annotations

from portal.env import mailers_from_env
from portal.settings import CELERY_BEAT_SCHEDULE as PRODUCTION_BEAT_SCHEDULE
from tests.faults.settings import *  # noqa: F403
from tests.faults.settings import CELERY_BEAT_SCHEDULE

CELERY_BEAT_SCHEDULE = {
    **CELERY_BEAT_SCHEDULE,
    "sweep-email-outbox": PRODUCTION_BEAT_SCHEDULE["sweep-email-outbox"],
}
MAILERS = mailers_from_env(smtp_by_default=True)
