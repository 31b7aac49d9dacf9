"""Settings of the two-node test's processes: those of the e-mail fault tests (a short
Redis visibility timeout, the outbox sweep in beat, a real SMTP server), with MEDIA_ROOT
read from the environment again (the test settings pin it to .test-media), so that each
web node has a disk of its own, as two machines would."""

from __future__ import annotations

from pathlib import Path

from portal.env import env_str
from tests.faults.settings_mail import *  # noqa: F403
from tests.faults.settings_mail import BASE_DIR

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".test-media")))
