"""Production settings: the defaults hardened; `check --deploy` reports nothing.

Use with DJANGO_SETTINGS_MODULE=portal.settings_production and a real
SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL, ALLOWED_HOSTS and SITE_URL in the
environment.
It refuses to start without them rather than fall back to a development default
(an SQLite file inside a container is lost on the next deploy).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, mailers_from_env, media_storage_from_env
from portal.settings import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off with portal.settings_production")

_secret_key = os.environ.get("SECRET_KEY", "")
if len(_secret_key) < 50 or len(set(_secret_key)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters")
if "change-me" in _secret_key:
    # The placeholder from .env.example is public: it would sign every session.
    raise ImproperlyConfigured("SECRET_KEY is still the placeholder from .env.example")
# CELERY_BROKER_URL: without it tasks would run inside the web request (the development
# default), and beat's sweeps and the e-mail retries would never run. SITE_URL: the
# links in e-mails would point at the development address, 127.0.0.1. CACHE_URL: each
# gunicorn worker would count rate limits and failed log-ins in its own memory.
for _required in ("DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL", "SITE_URL", "CACHE_URL"):
    if not os.environ.get(_required, "").strip():
        raise ImproperlyConfigured(f"{_required} must be set with portal.settings_production")
_site = urlsplit(os.environ["SITE_URL"].strip())
if _site.scheme not in ("http", "https") or not _site.hostname:
    raise ImproperlyConfigured(
        "SITE_URL must be the public address PosDesk is reached at, "
        "e.g. https://posdesk.example.com (links in e-mails start with it)"
    )

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and overwrites any
# value a client sent) and appends the client's address to X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Production mails through SMTP (EMAIL_HOST, default localhost), never to a console.
MAILERS = mailers_from_env(smtp_by_default=True)

# One JSON object a line for a log shipper (ops.logs); LOG_FORMAT=text for a person.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)  # noqa: F405

STORAGES = {
    # Uploads: MEDIA_ROOT or the S3 bucket, as MEDIA_STORAGE says (portal.settings).
    "default": media_storage_from_env(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if "change-me" in (STORAGES["default"].get("OPTIONS", {}).get("secret_key") or ""):
    # The placeholder from .env.example (MinIO's root password in compose) is public.
    raise ImproperlyConfigured(
        "MEDIA_S3_SECRET_ACCESS_KEY is still the placeholder from .env.example"
    )
