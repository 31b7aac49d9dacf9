"""Log lines: JSON (one object a line, for a log shipper) or plain text (for a person
at `make run`), both carrying the request id, user id, ticket reference and view.

LOG_FORMAT chooses: `text` is the default of portal.settings (development, tests),
`json` of portal.settings_production. `logging_config()` builds Django's LOGGING for
either; a Celery worker or beat keeps its own handlers and gets our formatter and
filter put on them (ops.signals).

python-json-logger rather than structlog: the project logs through the standard
`logging` module everywhere (Django, Celery, gunicorn's error log), and a formatter plus
a filter turns all of it into JSON without changing a single call.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from ops import context

# The fields every line carries (null when unknown), after time, level and logger.
CONTEXT_FIELDS = ("request_id", "user_id", "ticket", "view", "task", "task_id")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class ContextFilter(logging.Filter):
    """Puts the context of ops.context on each record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = context.current_request.get()
        task = context.current_task.get()
        record.request_id = context.request_id.get()
        record.user_id = context.user_id_of(request)
        record.ticket = context.ticket_of(request)
        record.view = context.view_of(request)
        record.task, record.task_id = task if task else (None, None)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self, fmt: str | None = None, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(fmt or TEXT_FORMAT, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(_JsonFormatter):
    """{"time", "level", "logger", "pid", "message", "request_id", "user_id", "ticket", "view",
    "task", "task_id", then any `extra=` of the call, and "exc_info" with a traceback}."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(["message"], **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["pid"] = record.process
        super().add_fields(log_data, record, message_dict)
        for field in CONTEXT_FIELDS:
            log_data.setdefault(field, getattr(record, field, None))


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler on the root logger, in `log_format`."""
    if log_format not in FORMATTERS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "ops.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "ops.logs.JsonFormatter"},
            "text": {"()": "ops.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }


def adopt_handlers(logger: logging.Logger, *, log_format: str) -> None:
    """Our filter (and, for JSON, our formatter) on handlers someone else set up:
    Celery's, which replace Django's in a worker or beat."""
    for handler in logger.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
