"""gunicorn hooks for the metrics (imported by gunicorn.conf.py): prometheus-client's
multiprocess mode. PROMETHEUS_MULTIPROC_DIR (default: a new temporary directory) is set before any
worker imports prometheus-client, emptied when gunicorn starts (values of a previous run would be
added to this one's) and removed when it exits; a worker that exits has its live gauges dropped.
The master's own log lines use the LOGGING schema too (logconfig_dict)."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from taskflow_contracts.logs import logging_config

# Unset (the usual case): a fresh directory of this gunicorn's own, so two gunicorns on one
# machine (a bench beside `make run`) never add up or wipe each other's values. Only gunicorn
# gets the variable: a single-process program given it would write files nobody reads.
MULTIPROC_DIR = Path(
    os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="taskflow-gunicorn-metrics-")
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(MULTIPROC_DIR)

logconfig_dict = logging_config(
    service=os.environ.get("LOG_SERVICE", "django"),
    log_format=os.environ.get("LOG_FORMAT") or ("json" if os.environ.get("DJANGO_ENV") == "production" else "console"),
    level=os.environ.get("LOG_LEVEL", "INFO"),
    # gunicorn's access line (it quotes the query string) is replaced by the middleware's.
    loggers={
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
)


def on_starting(server: Any) -> None:
    shutil.rmtree(MULTIPROC_DIR, ignore_errors=True)
    MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)


def on_exit(server: Any) -> None:
    shutil.rmtree(MULTIPROC_DIR, ignore_errors=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, str(MULTIPROC_DIR))
