"""Reconnecting with a cursor: every missed event, in order, no gap and no duplicate between the
replay and live events; `resync` when the history cannot close the gap."""

import threading
import time

from taskflow_contracts import UserMessage
from taskflow_contracts.redis_layout import tagged_user_stream

from tests.fastapi_realtime.support import (
    cursor_key,
    event_id_of,
    new_user_id,
    publish_task,
    task_created,
)


def test_reconnecting_with_the_cursor_replays_what_was_missed(relay, sockets, redis_client):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    seen = [publish_task(redis_client, [user_id], title=f"seen {n}") for n in range(3)]
    frames = sock.events(3)
    cursor = frames[-1]["cursor"]
    sock.close()

    missed = [publish_task(redis_client, [user_id], title=f"missed {n}") for n in range(5)]
    again, hello = sockets.join(relay, user_id, cursor=cursor)

    # hello says where this socket's stream starts: right after the client's cursor.
    assert hello["cursor"] == cursor
    assert [event_id_of(frame) for frame in again.events(5)] == missed
    assert [event_id_of(frame) for frame in frames] == seen
    live = publish_task(redis_client, [user_id], title="live")
    assert event_id_of(again.recv()) == live
    assert again.silent(0.2)


def test_replay_and_live_events_meet_without_gap_or_duplicate(relay, sockets, redis_client):
    # Events keep coming while the client reconnects: some reach it by replay, some live, and
    # the relay must not lose or repeat any at the seam.
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    publish_task(redis_client, [user_id], title="before")
    cursor = sock.recv()["cursor"]
    sock.close()

    published: list[str] = []
    started = threading.Event()

    def keep_publishing() -> None:
        for n in range(150):
            published.append(publish_task(redis_client, [user_id], title=f"#{n}"))
            if n == 20:
                started.set()
            # Paced (about 200/s), not a burst: the relay drops a socket that falls a whole queue
            # (64 frames here) behind, and on a loaded machine the test's own reader can lag
            # that far behind a burst. The seam is crossed all the same: the reconnect starts
            # while this keeps publishing.
            time.sleep(0.005)

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    started.wait(10)
    again, _ = sockets.join(relay, user_id, cursor=cursor)
    received = again.events(150)
    publisher.join(30)

    assert [event_id_of(frame) for frame in received] == published
    cursors = [cursor_key(frame["cursor"]) for frame in received]
    assert cursors == sorted(set(cursors))
    assert again.silent(0.2)
    assert relay.metrics()["realtime_replay_hits_total"] >= 1


def test_a_cursor_at_the_head_replays_nothing(relay, sockets, redis_client):
    user_id = new_user_id()
    publish_task(redis_client, [user_id])
    _, hello = sockets.join(relay, user_id)

    again, hello_again = sockets.join(relay, user_id, cursor=hello["cursor"])

    assert hello_again["cursor"] == hello["cursor"]
    assert again.silent(0.2)


def test_cursor_zero_replays_the_whole_history(relay, sockets, redis_client):
    # A client whose hello said 0-0 (no history yet) reconnects with that cursor.
    user_id = new_user_id()
    _, hello = sockets.join(relay, user_id)
    assert hello["cursor"] == "0-0"
    sent = [publish_task(redis_client, [user_id], title=f"#{n}") for n in range(3)]

    again, _ = sockets.join(relay, user_id, cursor="0-0")

    assert [event_id_of(frame) for frame in again.events(3)] == sent


def test_without_a_cursor_the_socket_starts_at_the_head(relay, sockets, redis_client):
    user_id = new_user_id()
    publish_task(redis_client, [user_id])
    publish_task(redis_client, [user_id])
    [last_id, _] = redis_client.xrevrange(tagged_user_stream(user_id), count=1)[0]

    sock, hello = sockets.join(relay, user_id)

    assert hello["cursor"] == last_id
    assert sock.silent(0.2)


def test_trimmed_history_gets_resync(relay, sockets, redis_client):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    publish_task(redis_client, [user_id])
    cursor = sock.recv()["cursor"]
    sock.close()
    for n in range(5):
        publish_task(redis_client, [user_id], title=f"#{n}")
    # History is bounded: what the client missed was trimmed away.
    redis_client.xtrim(tagged_user_stream(user_id), maxlen=2, approximate=False)
    head = redis_client.xinfo_stream(tagged_user_stream(user_id))["last-generated-id"]

    again, hello = sockets.join(relay, user_id, cursor=cursor)

    assert hello["cursor"] == head
    assert again.recv() == {"type": "resync"}
    live = publish_task(redis_client, [user_id])
    assert event_id_of(again.recv()) == live


def test_history_trimmed_only_up_to_the_cursor_still_replays(relay, sockets, redis_client):
    # Trimming took only what the client had already seen: the gap is still closed.
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    for n in range(3):
        publish_task(redis_client, [user_id], title=f"seen {n}")
    cursor = sock.events(3)[-1]["cursor"]
    sock.close()
    missed = [publish_task(redis_client, [user_id], title=f"missed {n}") for n in range(2)]
    redis_client.xtrim(tagged_user_stream(user_id), maxlen=3, approximate=False)

    again, _ = sockets.join(relay, user_id, cursor=cursor)

    assert [event_id_of(frame) for frame in again.events(2)] == missed
    assert again.silent(0.2)


def test_cursor_zero_after_trimming_gets_resync(relay, sockets, redis_client):
    user_id = new_user_id()
    for n in range(4):
        publish_task(redis_client, [user_id], title=f"#{n}")
    redis_client.xtrim(tagged_user_stream(user_id), maxlen=2, approximate=False)

    again, _ = sockets.join(relay, user_id, cursor="0-0")

    assert again.recv() == {"type": "resync"}


def test_expired_history_gets_resync(relay, sockets, redis_client):
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    publish_task(redis_client, [user_id])
    cursor = sock.recv()["cursor"]
    sock.close()
    redis_client.delete(tagged_user_stream(user_id))  # as REALTIME_HISTORY_TTL does

    again, hello = sockets.join(relay, user_id, cursor=cursor)

    assert hello["cursor"] == "0-0"
    assert again.recv() == {"type": "resync"}


def test_a_stream_recreated_after_expiry_still_gets_resync(relay, sockets, redis_client):
    # The old stream expired (with events the client never saw) and a new one began: its
    # entries are all newer than the cursor, but what was lost in between is unknown.
    user_id = new_user_id()
    sock, _ = sockets.join(relay, user_id)
    publish_task(redis_client, [user_id])
    cursor = sock.recv()["cursor"]
    sock.close()
    publish_task(redis_client, [user_id], title="lost with the old stream")
    redis_client.delete(tagged_user_stream(user_id))
    publish_task(redis_client, [user_id], title="in the new stream")

    again, _ = sockets.join(relay, user_id, cursor=cursor)

    assert again.recv() == {"type": "resync"}


def test_a_cursor_from_the_future_or_garbage_gets_resync(relay, sockets, redis_client):
    user_id = new_user_id()
    publish_task(redis_client, [user_id])

    for cursor in ("99999999999999-0", "not-a-cursor", "1-2-3", "18446744073709551615-18446744073709551615"):
        sock, _ = sockets.join(relay, user_id, cursor=cursor)
        assert sock.recv() == {"type": "resync"}, cursor
        sock.close()
    assert relay.metrics()["realtime_replay_misses_total"] >= 4


def test_a_cursor_missing_from_a_history_that_spans_it_gets_resync(relay, sockets, redis_client):
    # After a failover the new primary's history may lack entries the client saw on the old one
    # and hold others in between: the client's cursor lies within the stream but is not in it.
    user_id = new_user_id()
    message = UserMessage(event=task_created(), notification=None).model_dump_json(by_alias=True)
    redis_client.xadd(tagged_user_stream(user_id), {"m": message}, id="1000-0")
    redis_client.xadd(tagged_user_stream(user_id), {"m": message}, id="3000-0")

    again, hello = sockets.join(relay, user_id, cursor="2000-0")

    assert hello["cursor"] == "3000-0"
    assert again.recv() == {"type": "resync"}
    assert again.silent(0.2)
