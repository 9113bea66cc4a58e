"""The relay under Redis Sentinel (tests/engines: a primary, a replica, three Sentinels, started by
the suite): it finds the primary through the Sentinels, and after a failover in the middle of a
stream of events it reconnects to the new primary by itself; each socket gets every event, in
order, or a `resync` when the history cannot close the gap (writes the old primary took and never
passed on), and everything published after the failover."""

import json
import threading
import time

import pytest
import redis
from taskflow_contracts import RedisTopology, sync_client
from taskflow_contracts.redis_layout import tagged_user_stream

from tests.fastapi_realtime.support import event_id_of, new_user_id, publish, publish_task, task_created

pytestmark = pytest.mark.scaling


@pytest.fixture
def sentinel_env(redis_sentinel) -> dict[str, str]:
    return {"REDIS_URL": "redis://127.0.0.1/0", **redis_sentinel.env()}


@pytest.fixture
def sentinel_client(sentinel_env):
    """A publisher that follows the primary as django-core does (taskflow_contracts.sync_client)."""
    client = sync_client(RedisTopology.from_env(sentinel_env), decode_responses=True, socket_timeout=1)
    yield client
    client.close()


@pytest.fixture
def sentinel_relay(make_relay, sentinel_env):
    relay = make_relay("sentinel", REDIS_BACKOFF_INITIAL="0.05", REDIS_BACKOFF_MAX="0.5", **sentinel_env)
    yield relay
    relay.stop()


def publish_retrying(client, user_ids: list[int], title: str, timeout: float = 30.0) -> str:
    """Publishes one event, again and again while there is no primary to take it (the same event
    id each time: a delivery that did land is not repeated)."""
    event = task_created(title=title)
    deadline = time.monotonic() + timeout
    while True:
        try:
            publish(client, user_ids, event)
            return str(event.id)
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def received_until_quiet(sock, expected_last: str) -> list[dict]:
    frames = []
    while True:
        frame = sock.recv(timeout=20)
        frames.append(frame)
        if frame.get("type") == "event" and event_id_of(frame) == expected_last:
            return frames


@pytest.mark.parametrize("stop_primary", [True, False], ids=["primary killed", "switch-over"])
def test_a_failover_mid_stream_loses_no_event(redis_sentinel, sentinel_client, sentinel_relay, sockets, stop_primary):
    user_id = new_user_id()
    sock, _ = sockets.join(sentinel_relay, user_id)
    first = publish_task(sentinel_client, [user_id], title="before")
    assert event_id_of(sock.recv()) == first
    old_primary = redis_sentinel.primary.port

    # Events keep coming (one every 20 ms, each retried until a primary takes it) while the
    # primary moves.
    published: list[str] = []
    stop = threading.Event()

    def keep_publishing() -> None:
        n = 0
        while not stop.is_set():
            published.append(publish_retrying(sentinel_client, [user_id], title=f"#{n}"))
            n += 1
            time.sleep(0.02)

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    try:
        time.sleep(0.3)
        new_primary = redis_sentinel.failover(stop_primary=stop_primary)
        time.sleep(0.5)
    finally:
        stop.set()
        publisher.join(60)
    assert new_primary != old_primary
    redis_sentinel.wait_replicated()  # the old primary follows the new one: no more split brain
    last = publish_retrying(sentinel_client, [user_id], title="after")
    published.append(last)

    frames = received_until_quiet(sock, last)

    # In publish order, no event twice. Every event the surviving history holds arrived, or the
    # socket was told to resync (what the old primary took during a switch-over and never passed
    # on is gone from Redis: the client refetches over REST). The last one, published once the
    # failover was over, arrived live.
    events = [event_id_of(frame) for frame in frames if frame["type"] == "event"]
    assert len(events) == len(set(events))
    assert events == [event_id for event_id in published if event_id in events]
    history = sentinel_client.xrange(tagged_user_stream(user_id))
    surviving = [json.loads(fields["m"])["event"]["id"] for _, fields in history]
    assert {"type": "resync"} in frames or set(surviving) <= {first, *events}
    assert events[-1] == last
    assert sentinel_relay.health().json()["status"] == "ok"
    assert sentinel_relay.metrics()["realtime_redis_reconnects_total"] >= 1
