"""Celery's part (config/celery.py calls `celery_observe(app)`): the log schema for the worker
and beat, the request id and event id carried in task headers, and the metrics of the worker
(tasks by name and state, task duration, mail sent/failed, reminders sent), served with /live
and /ready on WORKER_METRICS_PORT (beat: BEAT_METRICS_PORT).

Headers: whoever enqueues (a request's after-commit hook, the outbox relay for an event's mail)
has the ids in its log context; `before_task_publish` copies them into the message's headers,
and the worker sets them for every line the task logs.
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from django.conf import settings
from django.db import connection
from prometheus_client import Counter, Histogram
from taskflow_contracts.logs import event_id_var, request_id_var, valid_request_id

from common.observability.metrics import serve
from common.selectors import database_check

logger = logging.getLogger(__name__)

TASKS = Counter("taskflow_celery_tasks_total", "Celery tasks run by this worker, by name and state.", ["task", "state"])
TASK_DURATION = Histogram(
    "taskflow_celery_task_duration_seconds",
    "How long a Celery task ran, by name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
MAIL_SENT = Counter("taskflow_mail_sent_total", "Emails handed to the mail server, by kind.", ["kind"])
MAIL_FAILED = Counter(
    "taskflow_mail_failed_total",
    "Email sends that failed, by kind and whether a retry follows (retry) or not (failed).",
    ["kind", "outcome"],
)
REMINDERS_SENT = Counter("taskflow_reminders_sent_total", "Deadline reminders emitted (their events written).")

_HEADERS = (("request_id", request_id_var), ("event_id", event_id_var))


def mail_outcomes_counted(deliver: Callable[..., Any]) -> Callable[..., Any]:
    """Counts what mailing.services.email_deliver answers, by the email's kind."""

    @functools.wraps(deliver)
    def counted(**kwargs: Any) -> Any:
        outcome = deliver(**kwargs)
        if outcome == "sent":
            MAIL_SENT.labels(kwargs["kind"]).inc()
        elif outcome in ("failed", "retry"):
            MAIL_FAILED.labels(kwargs["kind"], outcome).inc()
        return outcome

    return counted


def _broker_and_database(app: Celery) -> Callable[[], dict[str, str]]:
    def checks() -> dict[str, str]:
        result = {"database": database_check()}
        connection.close()  # the server's thread keeps no connection between checks
        try:
            with app.connection_for_write() as broker:
                broker.ensure_connection(max_retries=1, timeout=2)
            result["broker"] = "ok"
        except Exception as exc:  # the broker's errors have no common base
            result["broker"] = f"error: {type(exc).__name__}"
        return result

    return checks


def celery_observe(app: Celery) -> None:
    started: dict[str, float] = {}
    tokens: dict[str, list[Any]] = {}

    @signals.setup_logging.connect(weak=False)
    def logging_as_django(**kwargs: Any) -> None:
        """Celery leaves logging alone: Django's LOGGING (applied by django.setup()) stays."""

    @signals.before_task_publish.connect(weak=False)
    def headers_from_context(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if headers is None:
            return
        for name, var in _HEADERS:
            value = var.get()
            if value is not None:
                headers.setdefault(name, value)

    @signals.task_prerun.connect(weak=False)
    def context_from_headers(task_id: str, task: Any, **kwargs: Any) -> None:
        started[task_id] = time.perf_counter()
        request_id = valid_request_id(task.request.get("request_id"))
        event_id = task.request.get("event_id")
        tokens[task_id] = [
            request_id_var.set(request_id),
            event_id_var.set(str(event_id) if event_id else None),
        ]

    @signals.task_postrun.connect(weak=False)
    def counted(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
        TASKS.labels(task.name, (state or "UNKNOWN").lower()).inc()
        began = started.pop(task_id, None)
        if began is not None:
            TASK_DURATION.labels(task.name).observe(time.perf_counter() - began)
        for token in reversed(tokens.pop(task_id, [])):
            token.var.reset(token)

    @signals.worker_ready.connect(weak=False)
    def worker_server(**kwargs: Any) -> None:
        serve(host=settings.METRICS_HOST, port=settings.WORKER_METRICS_PORT, ready=_broker_and_database(app))

    @signals.beat_init.connect(weak=False)
    def beat_server(**kwargs: Any) -> None:
        serve(host=settings.METRICS_HOST, port=settings.BEAT_METRICS_PORT, ready=_broker_and_database(app))
