"""Production settings: the defaults hardened; `check --deploy` reports nothing.

Use with DJANGO_SETTINGS_MODULE=portal.settings_production and a real
SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and ALLOWED_HOSTS in the environment.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int
from portal.settings import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off with portal.settings_production")
if len(os.environ.get("SECRET_KEY", "")) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
