"""gunicorn's settings for the web service (`gunicorn -c docker/gunicorn.conf.py`).

gunicorn's own lines (start, worker boots and timeouts) in the project's log format, so
a log shipper reads one format: JSON unless LOG_FORMAT=text (ops.logs). No access log:
the application writes one line per request itself (`posdesk.request`), with its request
id, user, view and time taken.
"""

from __future__ import annotations

import os

accesslog = None

if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "ops.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": os.environ.get("LOG_LEVEL", "INFO"), "handlers": ["error_console"]},
        "loggers": {
            "gunicorn.error": {
                "level": os.environ.get("LOG_LEVEL", "INFO"),
                "handlers": ["error_console"],
                "propagate": False,
            },
            # A dictionary config turns gunicorn's access log on: off again (see above).
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
