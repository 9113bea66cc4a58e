"""A client that stops reading is dropped (close 4408) once its queue is full; the other
sockets, even of the same user, never wait for it."""

import socket

from tests.fastapi_realtime.support import (
    event_id_of,
    new_user_id,
    publish_task,
    sign_ticket,
    wait_until,
)

SLOW_CONSUMER = 4408
# Big enough frames that the kernel buffers between the two ends fill quickly.
TITLE = "x" * 48_000
EVENTS = 300


def test_a_client_that_stops_reading_is_dropped_and_never_stalls_the_others(relay, sockets, redis_client):
    user_id = new_user_id()
    reader, _ = sockets.join(relay, user_id)
    # The stalled client: a small receive buffer and a one-message client queue, then it never
    # reads again while the events pour in.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", relay.port))
    stalled = sockets.open(relay, sign_ticket(user_id), sock=raw, max_queue=1)
    drops_before = relay.metrics().get('realtime_drops_total{reason="slow_consumer"}', 0)

    sent = []
    for n in range(EVENTS):
        sent.append(publish_task(redis_client, [user_id], title=f"{n} {TITLE}"))
        # The reader keeps up as it goes: it must see every event, in order, while the other
        # socket of the same user is stuck.
        assert event_id_of(reader.recv()) == sent[-1]

    wait_until(
        lambda: relay.metrics().get('realtime_drops_total{reason="slow_consumer"}', 0) == drops_before + 1,
        what="the slow consumer to be dropped",
    )
    # Reading again, the stalled client finds the close code after what was already buffered.
    assert stalled.close_code(timeout=10) == SLOW_CONSUMER
    assert reader.silent(0.2)
