"""POST /notify/deadline (internal, X-Service-Token), GET /ws/health, GET /ws/internal/health and GET /ws/metrics."""

import json

import pytest
from taskflow_contracts import event_from_json
from taskflow_contracts.redis_layout import tagged_user_stream

from tests.fastapi_realtime.support import (
    SERVICE_TOKEN,
    deadline_approaching,
    event_id_of,
    new_user_id,
    publish_task,
    task_created,
)


def _notify(relay, body, token=SERVICE_TOKEN):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-Service-Token"] = token
    data = body if isinstance(body, str) else json.dumps(body)
    return relay.http.post(f"{relay.base_url}/notify/deadline", headers=headers, data=data, timeout=5)


def _alert_body(user_ids, event=None):
    event = event or deadline_approaching(user_ids[0])
    return {"user_ids": user_ids, "event": json.loads(event.model_dump_json(by_alias=True))}


def test_a_deadline_alert_reaches_the_users_sockets_on_every_instance(relay, relay_b, sockets):
    alice, bob, carol = new_user_id(), new_user_id(), new_user_id()
    alice_on_a, _ = sockets.join(relay, alice)
    bob_on_b, _ = sockets.join(relay_b, bob)
    carol_on_a, _ = sockets.join(relay, carol)
    event = deadline_approaching(alice)

    response = _notify(relay_b, _alert_body([alice, bob, alice], event))

    assert response.status_code == 202
    assert response.json() == {"event_id": str(event.id), "recipients": 2, "published": True}
    for sock in (alice_on_a, bob_on_b):
        frame = sock.recv()
        assert event_from_json(json.dumps(frame["event"])) == event
        assert frame["notification"] is None
    assert carol_on_a.silent()


def test_a_deadline_alert_is_kept_for_replay_and_sent_once(relay, sockets, redis_client):
    user_id = new_user_id()
    event = deadline_approaching(user_id)
    assert _notify(relay, _alert_body([user_id], event)).json()["published"] is True

    # The same event again (a retried call, or django-core published it too): nothing is sent.
    assert _notify(relay, _alert_body([user_id], event)).json()["published"] is False
    sock, _ = sockets.join(relay, user_id, cursor="0-0")

    assert event_id_of(sock.recv()) == str(event.id)
    assert sock.silent(0.2)
    assert redis_client.xlen(tagged_user_stream(user_id)) == 1


@pytest.mark.parametrize("token", [None, "", "wrong", SERVICE_TOKEN + "x", SERVICE_TOKEN[:-1]])
def test_notify_needs_the_service_token(relay, token):
    response = _notify(relay, _alert_body([new_user_id()]), token=token)

    assert response.status_code == 401
    assert response.json() == {"detail": "A valid X-Service-Token header is required.", "code": "not_authenticated"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"user_ids": []},
        {"user_ids": [1], "event": {"type": "task.deadline_approaching"}},
        {"user_ids": [0], "event": None},
        {"user_ids": ["x"], "event": None},
        "not json",
        "[1, 2]",
    ],
    ids=["empty", "no users", "incomplete event", "bad user id", "user id not a number", "invalid json", "a list"],
)
def test_notify_answers_a_bad_body_with_422_json(relay, body):
    if isinstance(body, dict) and "event" in body and body["event"] is None:
        body = {**body, "event": json.loads(deadline_approaching(1).model_dump_json(by_alias=True))}

    response = _notify(relay, body)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert response.json()["detail"]


def test_notify_takes_deadline_events_only(relay):
    body = _alert_body([new_user_id()], task_created())

    response = _notify(relay, body)

    assert response.status_code == 422


def test_notify_refuses_undeclared_fields(relay):
    body = {**_alert_body([new_user_id()]), "extra": 1}
    event_with_extra = _alert_body([new_user_id()])
    event_with_extra["event"]["data"]["surprise"] = True

    assert _notify(relay, body).status_code == 422
    assert _notify(relay, event_with_extra).status_code == 422


def test_health_reports_redis_and_connection_counts(relay, sockets):
    user_id = new_user_id()
    sockets.join(relay, user_id)
    sockets.join(relay, user_id)

    response = relay.health()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"redis": "ok", "subscription": "ok"}
    assert body["connections"] >= 2
    assert body["users"] >= 1
    # Public through the gateway: nothing that says where Redis or this instance is.
    assert set(body) == {"status", "checks", "connections", "users"}


def test_internal_health_adds_the_instance_topology_and_links(relay):
    public = relay.health().json()

    response = relay.internal_health()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == public["checks"]
    assert body["instance"]
    assert body["redis"].startswith("single node redis://")
    assert body["links"] == {"primary": True}


def test_metrics_are_prometheus_text(relay, sockets, redis_client):
    before = relay.metrics()
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    publish_task(redis_client, [user_id])
    sock.recv()

    response = relay.http.get(f"{relay.base_url}/ws/metrics", timeout=5)
    after = relay.metrics()

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE realtime_messages_sent_total counter" in response.text
    assert after["realtime_messages_sent_total"] >= before["realtime_messages_sent_total"] + 2  # hello + event
    assert after["realtime_connections_opened_total"] == before["realtime_connections_opened_total"] + 1
    assert after["realtime_connections"] >= 1
    assert after["realtime_redis_up"] == 1
    for name in ("realtime_replay_hits_total", 'realtime_drops_total{reason="slow_consumer"}'):
        assert name in after
