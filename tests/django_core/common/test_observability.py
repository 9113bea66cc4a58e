"""django-core's observability (common.observability, docs/operations.md): the request id from
the gateway to the log lines, the outbox row and the event's delivery; the request metrics at
/internal/metrics; the task headers; the processes' /metrics, /live and /ready."""

import io
import json
import logging
import re
import socket
from typing import Any

import pytest
import requests
from mailing.tasks import event_emails_send
from notifications.models import OutboxEvent
from rest_framework.test import APIClient
from taskflow_contracts.logs import JsonFormatter, log_context, user_id_var
from taskflow_contracts.redis_layout import tagged_user_stream

from common.observability.logs import service_name
from common.observability.metrics import serve
from common.observability.outbox_metrics import OutboxBacklog
from common.redis import redis_client
from config.celery import app as celery_app

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ([0-9.eE+-]+)$", re.MULTILINE)


def samples(text: str) -> dict[str, float]:
    return {name: float(value) for name, value in SAMPLE.findall(text)}


def task_payload(team: dict[str, Any]) -> dict[str, Any]:
    return {"project": team["project"].pk, "title": "Observe me"}


def test_the_gateways_request_id_is_answered_and_kept_on_the_outbox_row(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks", task_payload(team), format="json", HTTP_X_REQUEST_ID="gw-4f2a:1"
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "gw-4f2a:1"
    row = OutboxEvent.objects.latest("id")
    assert row.request_id == "gw-4f2a:1"
    # never in the envelope
    assert "gw-4f2a" not in json.dumps(row.envelope)


def test_a_malformed_or_missing_request_id_is_replaced_by_a_new_one(team, client_for):
    client = client_for(team["member"])
    bad = client.get("/api/tasks", HTTP_X_REQUEST_ID="not valid\nid")
    missing = client.get("/api/tasks")
    assert re.fullmatch(r"[0-9a-f]{32}", bad["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", missing["X-Request-ID"])
    assert bad["X-Request-ID"] != missing["X-Request-ID"]


def test_a_write_outside_a_request_has_no_request_id(team):
    from tasks import services

    services.task_create(project=team["project"], actor=team["member"], title="From a task")
    assert OutboxEvent.objects.latest("id").request_id == ""


def test_one_access_line_per_request_with_user_and_request_id_and_no_query(team, client_for, caplog):
    caplog.set_level(logging.INFO, logger="taskflow.access")
    client_for(team["member"]).get("/api/tasks?search=leak-me", HTTP_X_REQUEST_ID="req-access-1")
    [entry] = [r for r in caplog.records if r.name == "taskflow.access"]
    line = json.loads(JsonFormatter(service="django").format(entry))
    assert line["request_id"] == "req-access-1"
    assert line["user_id"] == team["member"].pk
    assert line["message"].startswith("GET /api/tasks 200 ")
    assert "leak-me" not in line["message"]
    assert "search" not in line["message"]


def test_every_line_of_an_authenticated_request_names_its_user_and_the_next_request_does_not_inherit_it(
    team, client_for
):
    # Formatted as it is emitted, as the processes' handlers do (the context is gone after).
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service="django"))
    services_logger = logging.getLogger("projects.services")
    services_logger.addHandler(handler)
    level = services_logger.level
    services_logger.setLevel(logging.INFO)
    try:
        response = client_for(team["member"]).post("/api/projects", {"name": "Logged"}, format="json")
        assert response.status_code == 201, response.content
        refused = APIClient().post("/api/projects", {"name": "Anonymous"}, format="json")
        assert refused.status_code == 401
        from projects import services

        services.project_create(actor=team["owner"], name="Outside a request")
    finally:
        services_logger.removeHandler(handler)
        services_logger.setLevel(level)
    first, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["user_id"] == team["member"].pk
    assert "user_id" not in outside
    assert user_id_var.get() is None


def test_request_metrics_move_by_route_and_status(team, client_for):
    client = client_for(team["member"])
    before = samples(client.get("/internal/metrics").content.decode())
    client.get("/api/tasks")
    client.get("/api/tasks")
    client.get("/api/tasks/999999")
    after = samples(client.get("/internal/metrics").content.decode())

    def moved(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert moved('taskflow_http_requests_total{method="GET",route="api/tasks",status="200"}') == 2
    assert moved('taskflow_http_requests_total{method="GET",route="api/tasks/<int:task_id>",status="404"}') == 1
    assert moved('taskflow_http_request_duration_seconds_count{method="GET",route="api/tasks"}') == 2
    assert moved('taskflow_http_db_queries_count{method="GET",route="api/tasks"}') == 2
    # the database was asked at least once per listing
    assert moved('taskflow_http_db_queries_sum{method="GET",route="api/tasks"}') >= 2


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_puts_the_request_id_on_the_history_entry_not_in_the_message(
    team, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).post(
            "/api/tasks", task_payload(team), format="json", HTTP_X_REQUEST_ID="req-stream-1"
        )
    assert response.status_code == 201
    [(_entry_id, fields)] = redis_client().xrevrange(tagged_user_stream(team["owner"].pk), count=1)
    fields = {key.decode(): value.decode() for key, value in fields.items()}
    assert fields["r"] == "req-stream-1"
    assert "req-stream-1" not in fields["m"]


def test_task_headers_carry_the_request_and_event_ids():
    broker = redis_client()
    broker.delete("celery")
    with log_context(request_id="req-task-1", event_id="ev-1"):
        event_emails_send.apply_async(args=[0])
    [message] = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    broker.delete("celery")
    assert message["headers"]["request_id"] == "req-task-1"
    assert message["headers"]["event_id"] == "ev-1"
    assert celery_app.conf.broker_url.endswith(f"/{broker.connection_pool.connection_kwargs['db']}")


def test_the_outbox_backlog_is_the_rows_after_the_watermark(team):
    from tasks import services

    services.task_create(project=team["project"], actor=team["member"], title="Pending")
    families = {family.name: family for family in OutboxBacklog().collect()}
    assert families["taskflow_outbox_pending_rows"].samples[0].value >= 1
    assert families["taskflow_outbox_oldest_pending_age_seconds"].samples[0].value >= 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_process_server_answers_live_ready_and_metrics():
    checks = {"database": "ok", "broker": "error: OperationalError"}
    server = serve(host="127.0.0.1", port=_free_port(), ready=lambda: checks)
    assert server is not None
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        assert requests.get(f"{base}/live", timeout=5).json() == {"status": "ok"}
        ready = requests.get(f"{base}/ready", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["checks"] == checks
        checks["broker"] = "ok"
        assert requests.get(f"{base}/ready", timeout=5).status_code == 200
        assert "taskflow_outbox_republished_total" in requests.get(f"{base}/metrics", timeout=5).text
        assert requests.get(f"{base}/other", timeout=5).status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_taken_leaves_the_process_running_without_its_server():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve(host="127.0.0.1", port=taken.getsockname()[1], ready=dict) is None
    assert serve(host="127.0.0.1", port=0, ready=dict) is None


@pytest.mark.parametrize(
    ("argv", "service"),
    [
        (["/srv/.venv/bin/gunicorn", "config.wsgi"], "django"),
        (["/srv/.venv/bin/celery", "-A", "config", "worker", "--pool", "threads"], "worker"),
        (["/srv/.venv/bin/celery", "-A", "config", "beat"], "beat"),
        (["manage.py", "outbox_relay"], "outbox"),
        (["manage.py", "migrate"], "django-core"),
    ],
)
def test_each_process_names_its_service(argv, service, monkeypatch):
    monkeypatch.delenv("LOG_SERVICE", raising=False)
    assert service_name(argv) == service
    monkeypatch.setenv("LOG_SERVICE", "django-2")
    assert service_name(argv) == "django-2"
