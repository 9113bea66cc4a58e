"""Redis restarts mid-stream, or drops the relay's pub/sub connection. The relay runs against a
throwaway redis-server of this test (the machine's Redis is never touched), which is killed and
started again on the same port."""

import shutil

import pytest

from tests.fastapi_realtime.support import (
    ThrowawayRedis,
    event_id_of,
    new_user_id,
    publish_task,
    sign_ticket,
    wait_until,
)

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server program for a Redis of its own"
)


@pytest.fixture
def throwaway_redis(tmp_path):
    server = ThrowawayRedis(directory=tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def outage_relay(make_relay, throwaway_redis):
    # The relay retries after 0.75-1.5 s: long enough for the test to restart Redis and publish
    # before the relay is back, so those events can only reach the sockets through the replay.
    relay = make_relay("outage", REDIS_URL=throwaway_redis.url, REDIS_BACKOFF_INITIAL="1.5", REDIS_BACKOFF_MAX="2")
    yield relay
    relay.stop()


def _wait_health(relay, status_code):
    wait_until(lambda: relay.health().status_code == status_code, what=f"/ws/health {status_code}")


def test_after_a_restart_that_kept_the_data_clients_get_what_they_missed(throwaway_redis, outage_relay, sockets):
    user_id = new_user_id()
    phone, _ = sockets.join(outage_relay, user_id)
    laptop, _ = sockets.join(outage_relay, user_id)
    first = publish_task(throwaway_redis.client(), [user_id], title="before")
    assert event_id_of(phone.recv()) == event_id_of(laptop.recv()) == first

    # Redis goes down hard (its data saved, as persistence would have it) ...
    throwaway_redis.client().save()
    throwaway_redis.kill()
    _wait_health(outage_relay, 503)
    replayed_before = outage_relay.metrics()["realtime_replayed_events_total"]
    # ... and comes back; events are published before the relay has resubscribed.
    throwaway_redis.start()
    during = [publish_task(throwaway_redis.client(), [user_id], title=f"back {n}") for n in range(5)]
    _wait_health(outage_relay, 200)
    after = publish_task(throwaway_redis.client(), [user_id], title="after")

    # Each socket gets every event once, in order: the missed ones replayed, then live again.
    for sock in (phone, laptop):
        assert [event_id_of(frame) for frame in sock.events(6)] == [*during, after]
        assert sock.silent(0.2)
    metrics = outage_relay.metrics()
    assert metrics["realtime_redis_reconnects_total"] >= 1
    assert metrics["realtime_replayed_events_total"] > replayed_before


def test_after_a_restart_that_lost_the_data_clients_are_told_to_resync(throwaway_redis, outage_relay, sockets):
    user_id = new_user_id()
    sock, _ = sockets.join(outage_relay, user_id)
    publish_task(throwaway_redis.client(), [user_id])
    sock.recv()

    throwaway_redis.forget_saved_data()
    throwaway_redis.kill()
    throwaway_redis.start()  # empty: the history is gone

    # The gap cannot be closed from history: the client refetches over REST, then goes on live.
    assert sock.recv() == {"type": "resync"}
    event_id = publish_task(throwaway_redis.client(), [user_id])
    assert event_id_of(sock.recv()) == event_id


def test_new_clients_wait_out_an_outage(throwaway_redis, outage_relay, sockets):
    throwaway_redis.kill()
    _wait_health(outage_relay, 503)
    body = outage_relay.health().json()
    assert body["checks"]["redis"] == "unavailable"
    # Public (the gateway routes /ws/health): fixed words and counts, not where Redis is.
    assert set(body) == {"status", "checks", "connections", "users"}
    assert str(throwaway_redis.port) not in outage_relay.health().text
    internal = outage_relay.internal_health()
    assert internal.status_code == 503
    assert internal.json()["links"] == {"primary": False}
    assert str(throwaway_redis.port) in internal.json()["redis"]

    # No Redis, no ticket check: "try again later", and the ticket is not used up.
    user_id = new_user_id()
    ticket = sign_ticket(user_id)
    assert sockets.open(outage_relay, ticket).close_code() == 1013

    throwaway_redis.start()
    _wait_health(outage_relay, 200)
    sock = sockets.open(outage_relay, ticket)
    assert sock.recv()["type"] == "hello"
    event_id = publish_task(throwaway_redis.client(), [user_id])
    assert event_id_of(sock.recv()) == event_id


def test_a_lost_subscriber_session_catches_up_from_history(throwaway_redis, outage_relay, sockets):
    relay = outage_relay
    redis = throwaway_redis.client()
    user_id, other = new_user_id(), new_user_id()
    phone, _ = sockets.join(relay, user_id)
    laptop, _ = sockets.join(relay, user_id)
    bystander, _ = sockets.join(relay, other)
    first = publish_task(redis, [user_id, other], title="before")
    assert event_id_of(phone.recv()) == event_id_of(laptop.recv()) == event_id_of(bystander.recv()) == first
    reconnects = relay.metrics()["realtime_redis_reconnects_total"]

    # When Redis drops the relay's pub/sub connection (Redis itself stays up) ...
    assert redis.client_kill_filter(_type="pubsub") >= 1
    missed = [publish_task(redis, [user_id], title=f"while away {n}") for n in range(5)]
    wait_until(lambda: relay.metrics()["realtime_redis_reconnects_total"] > reconnects, what="a new session")
    wait_until(lambda: relay.health().status_code == 200, what="/ws/health 200")
    after = publish_task(redis, [user_id, other], title="after")

    # ... every socket gets every event once, in order: the missed ones from history, then live.
    for sock in (phone, laptop):
        assert [event_id_of(frame) for frame in sock.events(6)] == [*missed, after]
        assert sock.silent(0.2)
    assert event_id_of(bystander.recv()) == after
    assert relay.metrics()["realtime_replayed_events_total"] >= 10
