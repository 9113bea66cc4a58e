"""django-core's LOGGING: every process (gunicorn, the Celery worker and beat, the outbox relay,
manage.py) writes the one schema of taskflow_contracts.logs, in LOG_FORMAT (json | console)."""

import os
import sys
from collections.abc import Sequence
from typing import Any

from taskflow_contracts.logs import logging_config


def service_name(argv: Sequence[str] | None = None) -> str:
    """The `service` field: LOG_SERVICE when set, else what the command line runs."""
    if os.environ.get("LOG_SERVICE"):
        return os.environ["LOG_SERVICE"]
    args = list(sys.argv if argv is None else argv)
    program = os.path.basename(args[0]) if args else ""
    if "outbox_relay" in args:
        return "outbox"
    if program == "celery":
        return "beat" if "beat" in args else "worker"
    if "gunicorn" in program:
        return "django"
    return "django-core"


def django_logging(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING setting. gunicorn's own loggers go through the same handler; its access log is
    replaced by common.observability.http's access line (path without query, user and request
    id as fields), so it is off here."""
    return logging_config(
        service=service_name(),
        log_format=log_format,
        level=level,
        loggers={
            "django.db.backends": {"level": "WARNING"},
            # Only errors: the request middleware writes one line per request itself.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING"},
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "celery": {"level": level},
        },
    )
