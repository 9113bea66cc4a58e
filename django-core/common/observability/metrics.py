"""Prometheus exposition for django-core's processes.

Under gunicorn every worker is a process of its own: with PROMETHEUS_MULTIPROC_DIR set (by
gunicorn.conf.py) prometheus-client keeps each process's values in files there and the
scrape adds them up (MultiProcessCollector). The outbox relay, the Celery worker and beat are
single processes: they serve their own registry on a port of their own (`serve`), with /live
and /ready beside /metrics for docker-compose's healthchecks.
"""

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], dict[str, str]]


def exposition() -> bytes:
    """The metrics of this process, or of every process sharing PROMETHEUS_MULTIPROC_DIR."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        for collector in _extra_collectors:  # computed at scrape time, not per process
            registry.register(collector)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


_extra_collectors: list[Any] = []


def register_scrape_collector(collector: Any) -> None:
    """A collector that computes its values when scraped (a database count, say): registered in
    the default registry, and in the multiprocess scrape's."""
    REGISTRY.register(collector)
    _extra_collectors.append(collector)


def readiness_answer(check: ReadinessCheck) -> tuple[int, dict[str, Any]]:
    checks = check()
    ready = all(value == "ok" for value in checks.values())
    return (200 if ready else 503), {"status": "ok" if ready else "unavailable", "checks": checks}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not worth a line
        pass


def _json(start_response: Callable[..., Any], status: int, body: dict[str, Any]) -> Iterable[bytes]:
    reasons = {200: "200 OK", 404: "404 Not Found", 503: "503 Service Unavailable"}
    start_response(reasons[status], [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


def process_app(ready: ReadinessCheck) -> Callable[..., Iterable[bytes]]:
    """/metrics, /live (the process answers) and /ready (its dependencies answer)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [exposition()]
        if path == "/live":
            return _json(start_response, 200, {"status": "ok"})
        if path == "/ready":
            return _json(start_response, *readiness_answer(ready))
        return _json(start_response, 404, {"detail": "Not found.", "code": "not_found"})

    return app


def serve(*, host: str, port: int, ready: ReadinessCheck) -> ThreadingWSGIServer | None:
    """Serves process_app on host:port in a daemon thread; None when port is 0 (off)."""
    if not port:
        return None
    try:
        server = make_server(host, port, process_app(ready), ThreadingWSGIServer, handler_class=_QuietHandler)
    except OSError as error:  # the work goes on; the healthcheck, which asks this port, says so
        logger.error("metrics and health server not started on %s:%d: %s", host, port, error)
        return None
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    logger.info("metrics and health on http://%s:%d/metrics (/live, /ready)", host, server.server_port)
    return server
