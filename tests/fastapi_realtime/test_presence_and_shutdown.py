"""Presence across instances and crashes; graceful shutdown."""

import signal
import time

from taskflow_contracts.redis_layout import PRESENCE_ONLINE, tagged_user_presence

from tests.fastapi_realtime.support import new_user_id, wait_until


def _online(redis_client, user_id: int) -> bool:
    score = redis_client.zscore(PRESENCE_ONLINE, str(user_id))
    return score is not None and score > time.time()


def _wait(condition, what, timeout=10.0):
    wait_until(condition, timeout=timeout, what=what)


def test_a_user_is_online_while_any_instance_holds_a_socket(relay, relay_b, sockets, redis_client):
    user_id = new_user_id()
    on_a, _ = sockets.join(relay, user_id)
    on_b, _ = sockets.join(relay_b, user_id)
    instance_a = relay.internal_health().json()["instance"]
    _wait(lambda: redis_client.zcard(tagged_user_presence(user_id)) == 2, "both instances to mark the user")
    assert _online(redis_client, user_id)

    on_a.close()
    _wait(lambda: redis_client.zscore(tagged_user_presence(user_id), instance_a) is None, "A to let the user go")
    assert _online(redis_client, user_id)  # still on B

    on_b.close()
    _wait(lambda: not _online(redis_client, user_id), "offline at once after the last socket")
    assert redis_client.zscore(PRESENCE_ONLINE, str(user_id)) is None


def test_the_users_of_a_crashed_instance_go_offline_when_their_presence_runs_out(make_relay, sockets, redis_client):
    doomed = make_relay("doomed", REALTIME_PRESENCE_TTL="3")
    user_id = new_user_id()
    sockets.join(doomed, user_id)
    _wait(lambda: _online(redis_client, user_id), "online")

    doomed.stop(signal.SIGKILL)  # no goodbye: presence must expire on its own

    assert _online(redis_client, user_id)
    _wait(lambda: not _online(redis_client, user_id), "presence to expire", timeout=8)


def test_shutdown_closes_sockets_with_1001(make_relay, sockets, redis_client):
    leaving = make_relay("leaving")
    user_id = new_user_id()
    phone, _ = sockets.join(leaving, user_id)
    laptop, _ = sockets.join(leaving, new_user_id())

    leaving.process.send_signal(signal.SIGTERM)

    # Going away: the clients reconnect to another instance.
    assert phone.close_code() == 1001
    assert laptop.close_code() == 1001
    # uvicorn ends by re-raising the signal it handled.
    assert leaving.process.wait(15) in (0, -signal.SIGTERM)
    _wait(lambda: not _online(redis_client, user_id), "offline after shutdown")


def test_a_burst_of_users_goes_online_and_offline_together(relay, sockets, redis_client):
    # Arrivals that come while the previous presence update is under way go in one batch.
    users = [new_user_id() for _ in range(40)]
    joined = [sockets.join(relay, user_id)[0] for user_id in users]
    _wait(lambda: all(_online(redis_client, user_id) for user_id in users), "every user online")

    for sock in joined:
        sock.close()
    _wait(lambda: not any(_online(redis_client, user_id) for user_id in users), "every user offline")


def test_a_user_who_leaves_before_being_marked_online_stays_offline(relay, sockets, redis_client):
    users = [new_user_id() for _ in range(20)]
    for user_id in users:
        sock, _ = sockets.join(relay, user_id)
        sock.close()
    # Well past the presence worker's round trips: nobody is left online by a late batch.
    watcher = new_user_id()
    sockets.join(relay, watcher)
    _wait(lambda: _online(redis_client, watcher), "a later user online")
    time.sleep(0.3)
    assert not any(_online(redis_client, user_id) for user_id in users)
    assert not any(redis_client.exists(tagged_user_presence(user_id)) for user_id in users)
