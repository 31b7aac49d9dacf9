"""Small readers for settings that come from the environment.

Each refuses a bad value with ImproperlyConfigured instead of guessing, so a
typo in a deployment fails at start-up rather than at the first request.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_positive_int(name: str, default: int) -> int:
    """An integer of at least 1: a period, a delay or a duration, where 0 or less
    would mean sweeping in a busy loop or giving up at once."""
    value = env_int(name, default)
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be at least 1, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def mailers_from_env(*, smtp_by_default: bool) -> dict[str, dict]:
    """Django's MAILERS from EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, ... variables."""
    backend = env_str("EMAIL_BACKEND", SMTP_BACKEND if smtp_by_default else CONSOLE_BACKEND)
    default: dict[str, object] = {"BACKEND": backend}
    if backend == SMTP_BACKEND:
        default["OPTIONS"] = {
            "host": env_str("EMAIL_HOST", "") or "localhost",
            "port": env_int("EMAIL_PORT", 25),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            # A slow mail server must not hold a Celery worker for long.
            "timeout": env_int("EMAIL_TIMEOUT", 10),
        }
    return {"default": default}


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A rate limit written `count/period`, e.g. `20/10m` (units s, m, h, d; a bare
    number is seconds): (count, seconds). `off` (or `0`) turns the limit off: None."""
    raw = env_str(name, default).strip().lower()
    if raw in {"off", "0"}:
        return None
    count, _slash, period = raw.partition("/")
    unit = _PERIODS.get(period[-1:])
    number = period[:-1] if unit else period
    if count.isdigit() and number.isdigit() and int(count) > 0 and int(number) > 0:
        return int(count), int(number) * (unit or 1)
    raise ImproperlyConfigured(
        f"{name} must be a count per period such as 20/10m (or off), not {raw!r}"
    )


def caches_from_env() -> dict[str, dict]:
    """Django's CACHES from CACHE_URL: Redis, shared by every web process (rate limits and
    the log-in slowdown count across gunicorn workers), or this process's memory."""
    url = env_str("CACHE_URL", "")
    if not url:
        return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {url!r}")
    return {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "posdesk",
            # Redis down must cost a request a second at most (portal.limits then allows).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def media_storage_from_env() -> dict[str, object]:
    """STORAGES["default"] from MEDIA_STORAGE: `filesystem` (MEDIA_ROOT, the default) or
    `s3` (MEDIA_S3_BUCKET at MEDIA_S3_ENDPOINT_URL, empty for AWS itself, in
    MEDIA_S3_REGION, with MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY, or
    neither for boto3's own chain: an instance role, ~/.aws)."""
    kind = env_str("MEDIA_STORAGE", "").strip().lower() or "filesystem"
    if kind == "filesystem":
        return {"BACKEND": "portal.storage.UploadStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {kind!r}")
    bucket = env_str("MEDIA_S3_BUCKET", "").strip()
    if not _BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise ImproperlyConfigured(
            f"MEDIA_S3_BUCKET must be an S3 bucket name (3-63 of a-z 0-9 . -), not {bucket!r}"
        )
    endpoint = env_str("MEDIA_S3_ENDPOINT_URL", "").strip()
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImproperlyConfigured(
                f"MEDIA_S3_ENDPOINT_URL must be an http(s):// address, not {endpoint!r}"
            )
    region = env_str("MEDIA_S3_REGION", "").strip() or "us-east-1"
    access_key = env_str("MEDIA_S3_ACCESS_KEY_ID", "").strip()
    secret_key = env_str("MEDIA_S3_SECRET_ACCESS_KEY", "").strip()
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured(
            "MEDIA_S3_ACCESS_KEY_ID and MEDIA_S3_SECRET_ACCESS_KEY go together: set both, "
            "or neither to use boto3's own credentials (an instance role)"
        )
    return {
        "BACKEND": "portal.storage_s3.S3UploadStorage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint or None,
            "region_name": region,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            # Private: no ACL on any object (the bucket's policy), no public URL; a
            # signed URL, should anything ask for one, lasts five minutes.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            # Stored names are ours and random (uuid4): asking whether one is taken before
            # each upload would cost a round trip for nothing.
            "file_overwrite": True,
        },
    }
