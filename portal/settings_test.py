"""Test settings: the real settings with a fast password hasher."""

from __future__ import annotations

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405
# Tests run with DEBUG off and no collectstatic: let WhiteNoise find files as in development.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
