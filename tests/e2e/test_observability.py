"""Operations, end to end (docs/operations.md): one request id from the gateway's access log to
django-core's, the relay's and the worker's lines; the metrics of every process scraped before
and after one write -> socket -> mail flow, moved by exactly what the flow did; none of the
metrics endpoints reachable through the gateway."""

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.client import Person, Socket, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN|[+-]Inf)$")


def scrape(url: str) -> dict[str, float]:
    """`name{labels}` -> value of every sample at a Prometheus endpoint."""
    response = requests.get(url, timeout=5)
    assert response.status_code == 200, (url, response.status_code)
    samples = {}
    for line in response.text.splitlines():
        found = SAMPLE.match(line)
        if found:
            samples[found.group(1) + (found.group(2) or "")] = float(found.group(3))
    return samples


def moved(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for text in path.read_text(errors="replace").splitlines():
        if text.startswith("{"):
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue
    return lines


def wait_for_line(path: Path, request_id: str, logger: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        for line in json_lines(path):
            if line.get("request_id") == request_id and line.get("logger", "").startswith(logger):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no {logger} line with request id {request_id} in {path.name}")
        time.sleep(0.2)


def endpoints(stack: Stack) -> dict[str, str]:
    return {
        "django": f"http://127.0.0.1:{stack.django_port}/internal/metrics",
        "outbox": f"http://127.0.0.1:{stack.outbox_metrics_port}/metrics",
        "worker": f"http://127.0.0.1:{stack.worker_metrics_port}/metrics",
        "relay": f"http://127.0.0.1:{stack.relays['a'].port}/ws/metrics",
    }


def _team(stack: Stack, mail_sink: MailSink) -> tuple[Person, Person, dict[str, Any]]:
    gateway = stack.gateways["single"]
    ada, bob = sign_up(gateway.url, "ada"), sign_up(gateway.url, "bob")
    verify_email(bob, mail_sink)
    project = ada.ok("POST", "/api/projects", {"name": f"Ops {uuid.uuid4().hex[:6]}"}, status=201)
    invite = ada.ok("POST", f"/api/projects/{project['id']}/invites", {"email": bob.email, "role": "member"}, 201)
    bob.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    return ada, bob, project


def test_one_write_followed_by_request_id_and_counted_by_every_process(stack: Stack, mail_sink: MailSink) -> None:
    # Given Ada and Bob in one project, a task, and Bob's socket open through the gateway
    ada, bob, project = _team(stack, mail_sink)
    title = f"Trace me {uuid.uuid4().hex[:6]}"
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": title}, status=201)
    socket = Socket.open(bob, stack.gateways["single"].ws_url)
    time.sleep(1.0)  # the mails and frames of the set-up are out before the first scrape
    before = {name: scrape(url) for name, url in endpoints(stack).items()}

    # When Ada assigns the task to Bob, with a request id of her own
    request_id = f"e2e-trace-{uuid.uuid4().hex}"
    response = ada.request("PATCH", f"/api/tasks/{task['id']}", {"assignee": bob.id}, **{"X-Request-ID": request_id})
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id

    # Then Bob's socket gets the event, without the request id in the frame...
    frame = socket.next_event("task.assigned")
    assert request_id not in json.dumps(frame)
    socket.close()
    # ...and the assignment mail arrives
    mail_sink.wait_for(bob.email, title)

    # And the request id is in the gateway's line, django-core's, the relay's and the worker's
    gateway_lines = stack.gateways["single"].access_log.read_text()
    assert f"request_id={request_id}" in gateway_lines
    access = wait_for_line(stack.work_dir / "django.log", request_id, "taskflow.access")
    assert access["service"] == "django"
    assert access["user_id"] == ada.id
    assert {"time", "level", "logger", "message"} <= set(access)
    delivered = wait_for_line(stack.work_dir / "realtime-a.log", request_id, "realtime_relay.deliveries")
    assert delivered["user_id"] == bob.id
    assert delivered["service"] == "realtime"
    mailed = wait_for_line(stack.work_dir / "worker.log", request_id, "mailing")
    assert mailed["service"] == "worker"
    assert mailed.get("event_id") == frame["event"]["id"]

    # And every process's counters moved by what this one write did
    time.sleep(1.0)
    after = {name: scrape(url) for name, url in endpoints(stack).items()}
    route = 'method="PATCH",route="api/tasks/<int:task_id>",status="200"'
    assert moved(before["django"], after["django"], f"taskflow_http_requests_total{{{route}}}") == 1
    queries = 'taskflow_http_db_queries_count{method="PATCH",route="api/tasks/<int:task_id>"}'
    assert moved(before["django"], after["django"], queries) == 1
    published = moved(before["django"], after["django"], "taskflow_outbox_fast_path_published_total") + moved(
        before["outbox"], after["outbox"], "taskflow_outbox_republished_total"
    )
    assert published == 1  # task.assigned, once
    mail_task = 'taskflow_celery_tasks_total{state="success",task="mailing.event_emails_send"}'
    assert moved(before["worker"], after["worker"], mail_task) == 1
    assert moved(before["worker"], after["worker"], 'taskflow_mail_sent_total{kind="task.assigned"}') == 1
    assert moved(before["relay"], after["relay"], "realtime_messages_sent_total") == 1
    assert after["outbox"]["taskflow_outbox_oldest_pending_age_seconds"] >= 0


@pytest.mark.parametrize("path", ["/internal/metrics", "/ws/metrics", "/metrics", "/internal/ready"])
def test_metrics_are_not_reachable_through_the_gateway(stack: Stack, path: str) -> None:
    response = requests.get(f"{stack.gateways['single'].url}{path}", timeout=5)
    assert "taskflow_" not in response.text
    assert "realtime_" not in response.text
    assert response.status_code in (200, 404)  # /metrics is a page of the web client (index.html)
    if path != "/metrics":
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_liveness_and_readiness_of_each_process(stack: Stack) -> None:
    for url in (
        f"http://127.0.0.1:{stack.django_port}/internal/live",
        f"http://127.0.0.1:{stack.django_port}/internal/ready",
        f"http://127.0.0.1:{stack.outbox_metrics_port}/live",
        f"http://127.0.0.1:{stack.outbox_metrics_port}/ready",
        f"http://127.0.0.1:{stack.worker_metrics_port}/live",
        f"http://127.0.0.1:{stack.worker_metrics_port}/ready",
        f"http://127.0.0.1:{stack.relays['a'].port}/ws/live",
    ):
        response = requests.get(url, timeout=5)
        assert response.status_code == 200, (url, response.text)
        assert response.json()["status"] == "ok", (url, response.text)
    ready = requests.get(f"http://127.0.0.1:{stack.worker_metrics_port}/ready", timeout=5).json()
    assert ready["checks"] == {"database": "ok", "broker": "ok"}
