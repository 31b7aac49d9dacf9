"""PosDesk settings.

Every value comes from the environment with an embedded default, so `make run`
works on a fresh machine (SQLite, Celery eager) and production overrides what it
needs. See README.md for the list of variables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from ops.logs import logging_config
from ops.sentry import init_sentry
from portal.env import (
    caches_from_env,
    env_bool,
    env_int,
    env_list,
    env_positive_int,
    env_rate,
    env_str,
    mailers_from_env,
)

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = env_str("SECRET_KEY", "posdesk-insecure-development-key-change-me")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "simple_history",
    "portal",
    "devices",
    "tickets",
    "mail",
    "outages",
    "repairs",
    "reports",
    "api",
    "webhooks",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in user's own language wins over the browser's (portal.language).
    "portal.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Logged-in pages and downloads: Cache-Control private, no-store (portal.middleware).
    "portal.middleware.PrivateCacheControlMiddleware",
    # A NUL byte no form caught answers 400, never 500.
    "portal.middleware.BadInputMiddleware",
    # Who made each change kept in a history (warranty fields, providers, queues, rules).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # A user name failing from many addresses is slowed down (portal.login_slowdown).
    "portal.login_slowdown.LoginSlowdownMiddleware",
    # Last, as django-axes asks: it turns a lockout into its own response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# Database: one URL. Unset, an SQLite file beside the project (the embedded default).
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        # A restarted PostgreSQL must not turn the next request into a 500.
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that loads the user's membership with the user: one query less per page.
    "portal.auth.MembershipBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Log-in throttling (django-axes): lock a username+address pair after repeated failures.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy every request comes from the proxy's address: the client's is
# read from X-Forwarded-For, counting this many trusted proxies from its right end (the
# entries a client wrote itself are to their left, and never trusted).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "portal.clientip.client_ip"
# A user name failing from many addresses is slowed down, never locked: after this many
# failures, each further attempt waits twice as long as the one before, at most
# LOGIN_SLOWDOWN_MAX_SECONDS. A browser that has logged in as that user is not slowed.
LOGIN_SLOWDOWN_AFTER = env_int("LOGIN_SLOWDOWN_AFTER", 10)
LOGIN_SLOWDOWN_MAX_SECONDS = env_int("LOGIN_SLOWDOWN_MAX_SECONDS", 60)

# The shared cache: Redis from CACHE_URL (rate limits and the log-in slowdown then count
# across every web process), else this process's memory.
CACHES = caches_from_env()
# Rate limits (portal.limits), `count/period` or `off`: tickets per merchant, messages
# and files per user, password-reset e-mails per address.
RATE_LIMIT_FILING = env_rate("RATE_LIMIT_FILING", "20/10m")
RATE_LIMIT_REPLIES = env_rate("RATE_LIMIT_REPLIES", "30/10m")
RATE_LIMIT_UPLOADS = env_rate("RATE_LIMIT_UPLOADS", "60/1h")
RATE_LIMIT_PASSWORD_RESET = env_rate("RATE_LIMIT_PASSWORD_RESET", "3/1h")
# A terminal has one open ticket per fault: a second report of it is refused with a link
# to the first. Off only for a load test that files one fault over and over (bench/).
ONE_OPEN_TICKET_PER_FAULT = env_bool("ONE_OPEN_TICKET_PER_FAULT", True)

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploads: FileSystemStorage that undoes a rolled-back write (portal.storage).
    "default": {"BACKEND": "portal.storage.UploadStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads live outside the static tree and have no public URL: every file is
# served through a view that checks the requester's scope.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o640

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Content-Security-Policy (Django's own middleware): only our own files, no
# inline script; the pages carry no inline JavaScript.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Sessions read from the cache, written through to the database (issue 18: no session
# query on a page view; a Redis restart logs no one out). The user and their membership
# are cached too (portal.auth), for USER_CACHE_SECONDS; 0 turns that off.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
USER_CACHE_SECONDS = env_int("USER_CACHE_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# E-mail (Django 6.1 mailers): printed to the console unless an SMTP host is configured.
MAILERS = mailers_from_env(smtp_by_default=bool(env_str("EMAIL_HOST", "")))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "PosDesk <noreply@posdesk.local>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

# Celery. With no broker URL the tasks run in-process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# No task is lost: acknowledge after the work, requeue when a worker dies.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 120)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 90)
CELERY_TIMEZONE = TIME_ZONE
# A lost broker connection must fail fast in the web process, not hang a request.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "max_retries": 1,
    # Retry the publish at once: with the broker down, filing must not wait seconds.
    "interval_start": 0,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    # Take from the queues in CELERY_TASK_QUEUES' order, not round-robin: a worker that
    # serves both always takes a waiting route_ticket before an e-mail.
    "queue_order_strategy": "priority",
}
# A worker that lost the broker tries again this often at most (Celery's own back-off
# reaches 30 s), and never gives up: routing resumes within seconds of its return.
BROKER_RECONNECT_SECONDS = env_positive_int("BROKER_RECONNECT_SECONDS", 5)
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Celery's worker consumer and beat scheduler, saying a broker outage once instead of
# an error at every retry or tick (portal.worker).
CELERY_WORKER_CONSUMER = "portal.worker:Consumer"
CELERY_BEAT_SCHEDULER = "portal.worker:Scheduler"
# A task running when the connection drops finishes (its late acknowledgement is lost,
# so it may run again: every task is safe to run twice) rather than being cancelled.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Routing after an outage (tickets.services.sweep_unrouted). A ticket still `new` this
# long after filing is queued again, by a sweep that beat starts this often ...
ROUTING_GRACE_SECONDS = env_int("ROUTING_GRACE_SECONDS", 10)
# On: the routing task sends the e-mails it wrote itself, after its commit (one task per
# filing instead of two). Off by default: measured at 100k (issue 18), it saved no worker
# CPU within the noise, and routing behind its own e-mails made the routing latency p99
# worse under an e-mail load; on the `email` queue they wait until routing is done.
ROUTING_SENDS_EMAILS = env_bool("ROUTING_SENDS_EMAILS", False)
ROUTING_SWEEP_SECONDS = env_positive_int("ROUTING_SWEEP_SECONDS", 10)
# ... and by the sweep a worker makes whenever it (re)connects. Queued once, it is
# queued again only this much later, in case that message was lost ...
ROUTING_REQUEUE_SECONDS = env_positive_int("ROUTING_REQUEUE_SECONDS", 300)
# ... and flagged for an admin once this many runs of the routing task have failed.
ROUTING_MAX_ATTEMPTS = env_positive_int("ROUTING_MAX_ATTEMPTS", 5)
# Two queues. `celery`: routing and the beat tasks, what a merchant waits for. `email`:
# notifications, which may lag a few seconds under a burst of filings. A worker started
# without -Q serves both, `celery` first; `-Q email` runs a mail-only worker.
# Celery's Django fix-up would close the database connection around every task; with a
# reuse count it closes it only every so many tasks, and portal.celery applies
# DB_CONN_MAX_AGE and the health check instead, as the web does.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("email"))
CELERY_TASK_ROUTES = {
    "tickets.tasks.send_event_email": {"queue": "email"},
    "devices.tasks.send_warranty_reminders": {"queue": "email"},
    "mail.tasks.send_emails": {"queue": "email"},
    "mail.tasks.sweep_outbox": {"queue": "email"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The e-mail outbox (mail/): each e-mail is a row written with its event, sent by the
# `email` queue after the commit; a sweep this often sends what is due (a task the
# broker lost, a retry whose time has come) ...
EMAIL_OUTBOX_SWEEP_SECONDS = env_positive_int("EMAIL_OUTBOX_SWEEP_SECONDS", 30)
# ... retrying a failed send after 30 s, 60 s, 2 min, ... at most an hour apart ...
EMAIL_OUTBOX_BACKOFF_BASE_SECONDS = env_positive_int("EMAIL_OUTBOX_BACKOFF_BASE_SECONDS", 30)
EMAIL_OUTBOX_BACKOFF_MAX_SECONDS = env_positive_int("EMAIL_OUTBOX_BACKOFF_MAX_SECONDS", 3600)
# ... until it has been failing this long: then it is marked failed for an admin.
EMAIL_OUTBOX_GIVE_UP = timedelta(hours=env_positive_int("EMAIL_OUTBOX_GIVE_UP_HOURS", 24))
# A worker that claimed e-mails and did not finish within this many seconds is taken
# for dead and its e-mails are sent again. Longer than CELERY_TASK_TIME_LIMIT, after
# which Celery kills the task anyway, so a live worker never loses its claim.
EMAIL_OUTBOX_LEASE_SECONDS = env_positive_int(
    "EMAIL_OUTBOX_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 60
)
# Outages (outages/): a public incident update not sent to its shops this long after it
# was written is queued again by beat; a shop that cannot take payments may say it
# stopped up to this many hours before filing; and may log the sales it took another
# way until this many days after it takes card payments again.
OUTAGES_FAN_OUT_GRACE_SECONDS = env_positive_int("OUTAGES_FAN_OUT_GRACE_SECONDS", 60)
OUTAGES_DOWNTIME_MAX_BACK_HOURS = env_positive_int("OUTAGES_DOWNTIME_MAX_BACK_HOURS", 48)
OUTAGES_OFFLINE_LOG_DAYS = env_positive_int("OUTAGES_OFFLINE_LOG_DAYS", 7)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Tickets filed while the broker was down are routed once it is back.
    "sweep-unrouted-tickets": {
        "task": "tickets.tasks.sweep_unrouted",
        "schedule": timedelta(seconds=ROUTING_SWEEP_SECONDS),
        # Not started within a minute (no worker): dropped, later sweeps do the same
        # work, and a worker back from an outage does not run an hour's backlog of them.
        "options": {"expires": max(ROUTING_SWEEP_SECONDS, 60)},
    },
    # SLA breaches are marked (and technicians told) within a minute of the due time.
    "mark-sla-breaches": {
        "task": "tickets.tasks.mark_sla_breaches",
        "schedule": timedelta(seconds=60),
    },
    # Automatically assigned P1 tickets nobody answered go to the next one on duty.
    "reassign-untouched-p1": {
        "task": "tickets.tasks.reassign_untouched_p1",
        "schedule": timedelta(seconds=60),
    },
    # Technicians on a digest get the tickets that arrived since their last one
    # (their own N minutes; this is how often it is checked).
    "send-arrival-digests": {
        "task": "tickets.tasks.send_arrival_digests",
        "schedule": timedelta(seconds=60),
        "options": {"expires": 60},
    },
    # Resolved tickets the merchant never answered close after a week.
    "close-stale-resolved-tickets": {
        "task": "tickets.tasks.close_stale_resolved",
        "schedule": timedelta(minutes=30),
    },
    # E-mails the broker never delivered, or whose retry time has come, are sent.
    "sweep-email-outbox": {
        "task": "mail.tasks.sweep_outbox",
        "schedule": timedelta(seconds=EMAIL_OUTBOX_SWEEP_SECONDS),
    },
    # Shops hear once, WARRANTY_REMINDER_DAYS ahead, that a terminal's warranty ends.
    "send-warranty-reminders": {
        "task": "devices.tasks.send_warranty_reminders",
        "schedule": timedelta(days=1),
    },
    # An incident update the broker never delivered still reaches every shop.
    "sweep-incident-updates": {
        "task": "outages.tasks.sweep_incident_updates",
        "schedule": timedelta(seconds=OUTAGES_FAN_OUT_GRACE_SECONDS),
        "options": {"expires": max(OUTAGES_FAN_OUT_GRACE_SECONDS, 60)},
    },
}
# Days before a terminal's warranty ends that its shop is e-mailed about it.
WARRANTY_REMINDER_DAYS = env_int("WARRANTY_REMINDER_DAYS", 30)
# A ticket filed this many days after the merchant changed the terminal's warranty
# fields carries a flag on the technician's pages.
WARRANTY_EDIT_FLAG_DAYS = env_int("WARRANTY_EDIT_FLAG_DAYS", 30)

# Logs (ops.logs): every line carries the request id, user id, ticket reference and
# view; `text` for a person at `make run`, `json` lines for a log shipper (the default
# of portal.settings_production).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Prometheus metrics (ops.metrics): /metrics answers only a request that sends
# `Authorization: Bearer <METRICS_TOKEN>` (404 while it is empty); a Celery worker with
# METRICS_PORT serves its own samples on that port. Several processes (gunicorn workers,
# the prefork pool) add up through PROMETHEUS_MULTIPROC_DIR, read by prometheus-client.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_PORT = env_int("METRICS_PORT", 0)
# First of all: every request gets its id (X-Request-ID) before anything can log, and
# its time is measured whole (ops.middleware).
MIDDLEWARE = ["ops.middleware.RequestIdMiddleware", *MIDDLEWARE]
# Error tracking (ops.sentry): sentry-sdk with its Django and Celery integrations, on
# when SENTRY_DSN is set; phones, e-mails, descriptions, bodies and cookies scrubbed.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "")
init_sentry(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT)

# --- Reports (issue 15) ---
# The beat rebuilds the earlier days that tickets were touched on (a late rating, the
# day just ended) this often; today is counted live on the page.
REPORTS_ROLLUP_SECONDS = env_positive_int("REPORTS_ROLLUP_SECONDS", 300)
# Once a day it rebuilds this many past days whole, whatever was touched.
REPORTS_REFRESH_DAYS = env_positive_int("REPORTS_REFRESH_DAYS", 35)
CELERY_BEAT_SCHEDULE["reports-rollup"] = {
    "task": "reports.tasks.rollup_touched",
    "schedule": timedelta(seconds=REPORTS_ROLLUP_SECONDS),
    "options": {"expires": REPORTS_ROLLUP_SECONDS},
}
CELERY_BEAT_SCHEDULE["reports-refresh"] = {
    "task": "reports.tasks.rollup_refresh",
    "schedule": timedelta(days=1),
    "options": {"expires": 3600},
}

# --- API (issue 16) ---
# Django REST framework under /api/v1/ (api/), its OpenAPI schema (drf-spectacular) and
# Swagger UI served from our own static files (drf-spectacular-sidecar: no CDN).
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.KeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.KeyScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.KeyRateThrottle"],
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per API key (or per person for the browser's session), counted in the shared
# cache (api.throttling): DRF's "count/period" (s, min, h, day); empty: no limit.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "PosDesk API",
    "DESCRIPTION": "Terminals, fault tickets, queues and incidents of POS card terminals.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Several models have a `status` and a `category`: each set of choices its own name.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "CategoryEnum": "tickets.models.Category",
    },
    # For the API's callers only (a key or a session): a read key may read it.
    "SERVE_PERMISSIONS": ["api.permissions.KeyScope"],
}

# --- Webhooks and e-mail in (issue 16) ---
# Webhook deliveries have their own Celery queue: a slow or dead endpoint of one
# provider never delays routing or e-mail. A worker started without -Q serves it too.
CELERY_TASK_QUEUES = (*CELERY_TASK_QUEUES, Queue("webhooks"))
CELERY_TASK_ROUTES = {
    **CELERY_TASK_ROUTES,
    "webhooks.tasks.deliver_webhooks": {"queue": "webhooks"},
    "webhooks.tasks.sweep_webhooks": {"queue": "webhooks"},
}
# A failed delivery is tried again after BASE, 2×BASE, 4×BASE ... seconds (at most MAX),
# until it has been failing for WEBHOOKS_GIVE_UP_HOURS; then it is marked failed.
WEBHOOKS_BACKOFF_BASE_SECONDS = env_positive_int("WEBHOOKS_BACKOFF_BASE_SECONDS", 30)
WEBHOOKS_BACKOFF_MAX_SECONDS = env_positive_int("WEBHOOKS_BACKOFF_MAX_SECONDS", 3600)
WEBHOOKS_GIVE_UP = timedelta(hours=env_positive_int("WEBHOOKS_GIVE_UP_HOURS", 24))
# Seconds to connect and to wait for an answer; a lease longer than the task's limit.
WEBHOOKS_TIMEOUT_SECONDS = env_positive_int("WEBHOOKS_TIMEOUT_SECONDS", 10)
WEBHOOKS_LEASE_SECONDS = env_positive_int("WEBHOOKS_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 60)
WEBHOOKS_SWEEP_SECONDS = env_positive_int("WEBHOOKS_SWEEP_SECONDS", 30)
# Characters of an endpoint's answer kept in the delivery log.
WEBHOOKS_RESPONSE_EXCERPT = env_positive_int("WEBHOOKS_RESPONSE_EXCERPT", 1000)
# The SSRF guard refuses loopback addresses too; tests (a server on 127.0.0.1) allow them.
# Private, link-local, multicast and reserved addresses are refused whatever this says.
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", False)
CELERY_BEAT_SCHEDULE["sweep-webhook-deliveries"] = {
    "task": "webhooks.tasks.sweep_webhooks",
    "schedule": timedelta(seconds=WEBHOOKS_SWEEP_SECONDS),
    "options": {"expires": max(WEBHOOKS_SWEEP_SECONDS, 60)},
}
# Replies by e-mail (mail.replies): notifications carry Reply-To
# reply+<token>@REPLY_DOMAIN; empty turns the feature off (no Reply-To is written).
MAIL_REPLY_DOMAIN = env_str("MAIL_REPLY_DOMAIN", "")
# The shared secret of the HTTP endpoint that takes raw inbound mail
# (POST /mail/inbound/ with the header X-PosDesk-Mail-Token); empty turns it off.
MAIL_INBOUND_TOKEN = env_str("MAIL_INBOUND_TOKEN", "")
# The largest inbound message taken, in bytes (attachments included).
MAIL_INBOUND_MAX_BYTES = env_positive_int("MAIL_INBOUND_MAX_BYTES", 25 * 1024 * 1024)

# --- Operations: health, metrics, logs, error tracking (issue 17) ---
# /readyz gives the database, the broker and the media storage this many seconds each
# (they run side by side) before it answers 503 (ops.health).
READINESS_TIMEOUT_SECONDS = env_positive_int("READINESS_TIMEOUT_SECONDS", 2)

# --- Operations: media storage, backups (issue 17) ---
from portal.env import media_storage_from_env  # noqa: E402 (this section's own helper)

# Uploads: MEDIA_ROOT on this machine (the default), or a private S3-compatible bucket
# with MEDIA_STORAGE=s3 and MEDIA_S3_* (portal.env.media_storage_from_env), which every
# web and worker process of a deployment on several machines must share.
STORAGES = {**STORAGES, "default": media_storage_from_env()}
# `manage.py backup` (make backup) writes a folder per run here (ops.backup).
BACKUP_DIR = Path(env_str("BACKUP_DIR", "") or BASE_DIR / "backups")

# reports.DayRollup's unique key treats an empty breakdown value as one value
# (nulls_distinct=False): PostgreSQL enforces it; the SQLite of `make run` cannot, and the
# rollup builder, which deletes a day's rows before writing them, does not rely on it.
SILENCED_SYSTEM_CHECKS = ["models.W047"]
