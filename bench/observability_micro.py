"""The observability path of one request, timed in one process (run by bench.observability in a
child with PROMETHEUS_MULTIPROC_DIR set, as under gunicorn): RequestObservabilityMiddleware
around a view that does nothing, on (JSON access line to a file, metrics in multiprocess mode,
one query counted) against off (METRICS_ENABLED=false, no access line). Prints the CPU
microseconds per request of each as JSON; no database, no network, so it hardly moves with the
machine's load."""

import json
import logging
import os
import sys
import tempfile
import time
from statistics import median
from typing import Any

ROUNDS = 7
CALLS = 5_000


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory
    from taskflow_contracts.logs import JsonFormatter

    from common.observability import http

    class Match:
        route = "api/tasks/<int:task_id>"

    class User:
        pk = 7
        is_authenticated = True

    def view(request: Any) -> HttpResponse:
        request.resolver_match = Match()
        return HttpResponse(b"{}", content_type="application/json")

    access = logging.getLogger("taskflow.access")
    access.propagate = False
    with tempfile.NamedTemporaryFile("w", suffix=".log") as sink:
        handler = logging.FileHandler(sink.name)
        handler.setFormatter(JsonFormatter(service="django"))
        access.addHandler(handler)
        request = RequestFactory().get("/api/tasks/42", HTTP_X_REQUEST_ID="bench-request-id")
        request.user = User()  # type: ignore[attr-defined]
        middlewares = {
            "on": http.RequestObservabilityMiddleware(view),
            "off": http.RequestObservabilityMiddleware(view),
        }
        middlewares["off"].enabled = False
        times: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(ROUNDS):
            for variant, middleware in middlewares.items():
                access.setLevel(logging.INFO if variant == "on" else logging.WARNING)
                started = time.process_time()
                for _ in range(CALLS):
                    middleware(request)
                times[variant].append(1e6 * (time.process_time() - started) / CALLS)
        handler.close()
    print(json.dumps({variant: round(median(values), 2) for variant, values in times.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
