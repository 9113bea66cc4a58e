"""django-core's request middleware and its /internal/ views (the gateway never routes /internal).

Per request: the request id (the gateway's X-Request-ID when well formed, else a new one) is
set for every log line of the request (taskflow_contracts.logs) and the outbox row its events
write (notifications.events), and answered in X-Request-ID; when it is done, one access line
(method, path without its query, status, duration, user) and the request metrics: requests by
route and status, latency, database queries. The route is the URL pattern (`api/tasks/<int:pk>`),
so the series stay few whatever ids are requested.
"""

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram
from taskflow_contracts.logs import log_context, user_id_var, valid_request_id

from common.observability.metrics import exposition, readiness_answer
from common.selectors import dependency_checks

access_logger = logging.getLogger("taskflow.access")

REQUESTS = Counter(
    "taskflow_http_requests_total",
    "Requests answered by django-core, by route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "taskflow_http_request_duration_seconds",
    "Time django-core took to answer, by route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DB_QUERIES = Histogram(
    "taskflow_http_db_queries",
    "Database queries run by one request, by route.",
    ["method", "route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
)


class _QueryCount:
    """A connection.execute_wrapper that counts the statements run through it."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return match.route if match is not None and match.route else "unmatched"


class RequestObservabilityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.enabled = settings.METRICS_ENABLED

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = valid_request_id(request.headers.get("X-Request-ID")) or uuid.uuid4().hex
        # The user is known once authentication ran (accounts.authentication sets it); a
        # thread's next request must not inherit it.
        user_token = user_id_var.set(None)
        try:
            with log_context(request_id=request_id):
                response = self._observed(request, request_id) if self.enabled else self.get_response(request)
        finally:
            user_id_var.reset(user_token)
        response["X-Request-ID"] = request_id
        return response

    def _observed(self, request: HttpRequest, request_id: str) -> HttpResponse:
        queries = _QueryCount()
        started = time.perf_counter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        route, method = _route(request), request.method or ""
        REQUESTS.labels(method, route, str(response.status_code)).inc()
        LATENCY.labels(method, route).observe(elapsed)
        DB_QUERIES.labels(method, route).observe(queries.count)
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        access_logger.info(
            "%s %s %d %.1fms",
            method,
            request.path,
            response.status_code,
            elapsed * 1000,
            extra={"user_id": user_id, "request_id": request_id},
        )
        return response


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /internal/metrics: every gunicorn worker's metrics (Prometheus text format)."""
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def live_view(request: HttpRequest) -> JsonResponse:
    """GET /internal/live: the process answers (no dependency asked)."""
    return JsonResponse({"status": "ok"})


def ready_view(request: HttpRequest) -> JsonResponse:
    """GET /internal/ready: the database and Redis answer (as /api/health)."""
    status, body = readiness_answer(dependency_checks)
    return JsonResponse(body, status=status)
