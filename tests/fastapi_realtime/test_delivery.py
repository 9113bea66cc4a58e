"""Live delivery: the right user only, every socket of that user, every relay instance."""

import json

import pytest
from taskflow_contracts import event_from_json
from taskflow_contracts.redis_layout import tagged_user_channel, tagged_user_stream

from tests.fastapi_realtime.support import (
    cursor_key,
    event_id_of,
    new_user_id,
    publish,
    publish_task,
    raw_handshake,
    read_until_eof,
    sign_ticket,
    task_created,
    wait_until,
)


def test_an_event_reaches_its_user_only(relay, sockets, redis_client):
    alice, bob = new_user_id(), new_user_id()
    alice_socket, _ = sockets.join(relay, alice)
    bob_socket, _ = sockets.join(relay, bob)

    event_id = publish_task(redis_client, [alice], title="For Alice")

    frame = alice_socket.recv()
    assert frame["type"] == "event"
    assert event_id_of(frame) == event_id
    assert frame["event"]["data"]["task"]["title"] == "For Alice"
    assert frame["notification"] is None
    assert bob_socket.silent()


def test_the_frame_is_the_published_message_with_its_cursor(relay, sockets, redis_client):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    event = task_created(title="Ünïcode ✓")
    notification = {
        "id": 5,
        "message": "Ada created “Ünïcode ✓”",
        "is_read": False,
        "created_at": "2026-11-23T15:15:55Z",
    }

    publish(redis_client, [user_id], event, notification)

    frame = sock.recv()
    [(entry_id, fields)] = redis_client.xrange(tagged_user_stream(user_id))
    assert frame["cursor"] == entry_id
    assert frame["event"] == json.loads(fields["m"])["event"]
    assert frame["notification"] == notification
    assert event_from_json(json.dumps(frame["event"])).id == event.id


def test_every_socket_of_a_user_gets_each_event_once_in_order(relay, sockets, redis_client):
    user_id = new_user_id()
    phone, _ = sockets.join(relay, user_id)
    laptop, _ = sockets.join(relay, user_id)

    sent = [publish_task(redis_client, [user_id], title=f"#{n}") for n in range(20)]

    for sock in (phone, laptop):
        frames = sock.events(20)
        assert [event_id_of(frame) for frame in frames] == sent
        cursors = [cursor_key(frame["cursor"]) for frame in frames]
        assert cursors == sorted(cursors)
        assert sock.silent(0.2)


def test_both_relay_instances_deliver(relay, relay_b, sockets, redis_client):
    user_id, other = new_user_id(), new_user_id()
    on_a, _ = sockets.join(relay, user_id)
    on_b, _ = sockets.join(relay_b, user_id)
    other_on_b, _ = sockets.join(relay_b, other)

    event_id = publish_task(redis_client, [user_id, other])

    assert event_id_of(on_a.recv()) == event_id
    assert event_id_of(on_b.recv()) == event_id
    assert event_id_of(other_on_b.recv()) == event_id


def test_a_user_who_left_is_unsubscribed_and_a_returning_one_resubscribed(relay, sockets, redis_client):
    user_id = new_user_id()
    first, _ = sockets.join(relay, user_id)
    first.close()
    # The relay drops its subscription with the last socket (no subscriber left for the channel).
    wait_until(lambda: redis_client.pubsub_shardnumsub(tagged_user_channel(user_id))[0][1] == 0, what="unsubscribe")

    again, _ = sockets.join(relay, user_id)
    assert redis_client.pubsub_shardnumsub(tagged_user_channel(user_id))[0][1] == 1
    event_id = publish_task(redis_client, [user_id])
    assert event_id_of(again.recv()) == event_id


def test_ping_gets_pong(relay, sockets):
    sock, _ = sockets.join(relay, new_user_id())

    sock.send({"type": "ping"})
    assert sock.recv() == {"type": "pong"}
    sock.send('{ "type" : "ping", "at": 1 }')
    assert sock.recv() == {"type": "pong"}


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"no": "type"}', "invalid_message"),
        ('{"type": 5}', "invalid_message"),
        ('{"type": "subscribe", "user_id": 1}', "unknown_type"),
        (b"\x00\x01binary", "binary_not_supported"),
    ],
)
def test_a_malformed_message_gets_an_error_frame_and_the_socket_lives_on(relay, sockets, redis_client, message, code):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)

    sock.send(message)

    error = sock.recv()
    assert error == {"type": "error", "code": code, "detail": error["detail"]}
    assert error["detail"]
    sock.send({"type": "ping"})
    assert sock.recv() == {"type": "pong"}
    event_id = publish_task(redis_client, [user_id])
    assert event_id_of(sock.recv()) == event_id


@pytest.mark.parametrize("size", [5000, 60_000, 200_000])
def test_an_oversized_message_closes_with_1009(relay, sockets, size):
    # Above the relay's own limit (4096 bytes) or uvicorn's frame limit (64 KiB): 1009 either way.
    sock, _ = sockets.join(relay, new_user_id())

    sock.send(json.dumps({"type": "ping", "pad": "x" * size}))

    assert sock.close_code() == 1009


def test_a_dead_peer_is_found_by_protocol_pings(relay_b):
    # Relay B pings every 0.5 s and waits 1 s for the pong. This client completes the handshake
    # and never answers a ping (as a vanished peer would not).
    sock = raw_handshake(relay_b, sign_ticket(new_user_id()))

    received = read_until_eof(sock, timeout=10)

    sock.close()
    assert b"\x89" in received  # the server pinged
    assert b"\x88" in received  # then closed the connection
