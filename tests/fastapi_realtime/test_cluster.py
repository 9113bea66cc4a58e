"""The relay on a real Redis Cluster of three masters (tests/engines, started by the suite): one
pub/sub connection per primary, each user's shard channel subscribed on the node of its slot,
history and presence through the cluster client, and channels that follow their slot when it
moves to another node."""

import contextlib
import signal
import time

import pytest
import redis
from taskflow_contracts.redis_layout import PRESENCE_ONLINE, tagged_user_channel, tagged_user_presence
from websockets.exceptions import ConnectionClosed

from tests.fastapi_realtime.support import (
    SERVICE_TOKEN,
    deadline_approaching,
    event_id_of,
    new_user_id,
    publish_task,
    sign_ticket,
    wait_until,
)

pytestmark = pytest.mark.scaling

TRY_AGAIN_LATER = 1013


@pytest.fixture(scope="module")
def cluster_client(redis_cluster):
    client = redis_cluster.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def cluster_relay(make_relay, redis_cluster, cluster_client):
    relay = make_relay("cluster", REDIS_CLUSTER_URL=redis_cluster.url, REDIS_BACKOFF_INITIAL="0.05")
    yield relay
    relay.stop()


def users_on_every_node(redis_cluster) -> dict[int, int]:
    """Node port → a fresh user id whose channel (and keys) live on that node."""
    found: dict[int, int] = {}
    while len(found) < len(redis_cluster.ports):
        user_id = new_user_id()
        found.setdefault(node_of(redis_cluster, user_id), user_id)
    return found


def node_of(redis_cluster, user_id: int) -> int:
    return redis_cluster.port_of_slot(redis_cluster.keyslot(tagged_user_channel(user_id)))


def test_users_on_every_node_get_their_frames(redis_cluster, cluster_client, cluster_relay, sockets):
    users = users_on_every_node(redis_cluster)
    joined = {port: sockets.join(cluster_relay, user_id)[0] for port, user_id in users.items()}

    # One pub/sub connection per primary, all up; each channel subscribed on its own node only.
    assert cluster_relay.internal_health().json()["links"] == {
        f"127.0.0.1:{port}": True for port in redis_cluster.ports
    }
    for port, user_id in users.items():
        for node_port in redis_cluster.ports:
            with contextlib.closing(redis_cluster.node(node_port)) as node:
                [(_, subscribers)] = node.pubsub_shardnumsub(tagged_user_channel(user_id))
            assert subscribers == (1 if node_port == port else 0)

    event_id = publish_task(cluster_client, list(users.values()))

    for sock in joined.values():
        assert event_id_of(sock.recv()) == event_id
        assert sock.silent(0.1)


def test_replay_reads_the_history_on_the_users_node(redis_cluster, cluster_client, cluster_relay, sockets):
    for user_id in users_on_every_node(redis_cluster).values():
        sock, _ = sockets.join(cluster_relay, user_id)
        publish_task(cluster_client, [user_id], title="seen")
        cursor = sock.recv()["cursor"]
        sock.close()
        missed = [publish_task(cluster_client, [user_id], title=f"missed {n}") for n in range(3)]

        again, hello = sockets.join(cluster_relay, user_id, cursor=cursor)

        assert hello["cursor"] == cursor
        assert [event_id_of(frame) for frame in again.events(3)] == missed
        live = publish_task(cluster_client, [user_id], title="live")
        assert event_id_of(again.recv()) == live


def test_presence_and_deadline_alerts_work_across_nodes(redis_cluster, cluster_client, cluster_relay, sockets):
    users = list(users_on_every_node(redis_cluster).values())
    joined = [sockets.join(cluster_relay, user_id)[0] for user_id in users]
    wait_until(lambda: all(cluster_client.zscore(PRESENCE_ONLINE, str(u)) for u in users), what="presence")
    assert all(cluster_client.zcard(tagged_user_presence(user_id)) == 1 for user_id in users)

    event = deadline_approaching(users[0])
    for port in redis_cluster.ports:  # no node has the delivery script yet: the relay loads it
        with contextlib.closing(redis_cluster.node(port)) as node:
            node.script_flush()
    response = cluster_relay.http.post(
        f"{cluster_relay.base_url}/notify/deadline",
        headers={"X-Service-Token": SERVICE_TOKEN},
        json={"user_ids": users, "event": event.model_dump(mode="json", by_alias=True)},
        timeout=5,
    )

    assert response.status_code == 202, response.text
    assert response.json()["published"] is True
    for sock in joined:
        assert event_id_of(sock.recv()) == str(event.id)
    joined[0].close()
    wait_until(lambda: cluster_client.zscore(PRESENCE_ONLINE, str(users[0])) is None, what="offline at once")


def test_a_lost_node_connection_catches_up_only_that_nodes_users(redis_cluster, cluster_client, cluster_relay, sockets):
    users = users_on_every_node(redis_cluster)
    joined = {port: sockets.join(cluster_relay, user_id)[0] for port, user_id in users.items()}
    lost_port, kept_ports = redis_cluster.ports[0], redis_cluster.ports[1:]
    replayed = cluster_relay.metrics()["realtime_replayed_events_total"]

    # The relay's connection to one node is dropped; frames are published to everyone meanwhile.
    with contextlib.closing(redis_cluster.node(lost_port)) as node:
        assert node.client_kill_filter(_type="pubsub") >= 1
    sent = [publish_task(cluster_client, list(users.values()), title=f"#{n}") for n in range(3)]
    wait_until(lambda: cluster_relay.internal_health().json()["links"][f"127.0.0.1:{lost_port}"], what="the link back")
    after = publish_task(cluster_client, list(users.values()), title="after")

    # Everybody gets everything once, in order; only the lost node's user needed a catch-up.
    for sock in joined.values():
        assert [event_id_of(frame) for frame in sock.events(4)] == [*sent, after]
        assert sock.silent(0.1)
    assert kept_ports  # the other two users were served live all along
    assert cluster_relay.metrics()["realtime_replayed_events_total"] - replayed <= 3


def migrate_slot(redis_cluster, slot: int, target_port: int) -> None:
    """Moves `slot` (and its keys) to the node on `target_port`, as `redis-cli --cluster reshard`
    does: IMPORTING/MIGRATING, MIGRATE of its keys, then SETSLOT NODE on both."""
    source_port = redis_cluster.port_of_slot(slot)
    with (
        contextlib.closing(redis_cluster.node(source_port)) as source,
        contextlib.closing(redis_cluster.node(target_port)) as target,
    ):
        source_id, target_id = source.execute_command("CLUSTER MYID"), target.execute_command("CLUSTER MYID")
        target.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", target_id)
        while keys := source.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
            source.execute_command("MIGRATE", "127.0.0.1", target_port, "", 0, 5000, "KEYS", *keys)
        target.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
        source.execute_command("CLUSTER SETSLOT", slot, "NODE", target_id)
    # Every node learns the new owner by gossip.
    wait_until(
        lambda: all(_owner_seen_by(redis_cluster, port, slot) == target_port for port in redis_cluster.ports),
        what=f"slot {slot} on {target_port} everywhere",
    )


def _owner_seen_by(redis_cluster, port: int, slot: int) -> int | None:
    with contextlib.closing(redis_cluster.node(port)) as node:
        for start, end, master, *_ in node.execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(master[1])
    return None


def test_a_channel_follows_its_slot_to_another_node(redis_cluster, cluster_relay, sockets):
    user_id = new_user_id()
    sock, _ = sockets.join(cluster_relay, user_id)
    client = redis_cluster.client()
    first = publish_task(client, [user_id], title="before the move")
    assert event_id_of(sock.recv()) == first
    slot = redis_cluster.keyslot(tagged_user_channel(user_id))
    target = next(port for port in redis_cluster.ports if port != redis_cluster.port_of_slot(slot))

    # The slot moves while the socket is open: Redis unsubscribes the relay on the old node.
    migrate_slot(redis_cluster, slot, target)
    client.close()
    client = redis_cluster.client()  # a publisher that knows the new owner
    during = publish_task(client, [user_id], title="right after the move")
    wait_until(lambda: _subscribed_on(redis_cluster, target, user_id), what="the channel on its new node")
    after = publish_task(client, [user_id], title="after the move")

    # Nothing lost, nothing twice: the frame published before the relay followed the slot comes
    # from the history (moved with the slot's keys), then live frames from the new node.
    assert [event_id_of(frame) for frame in sock.events(2)] == [during, after]
    assert sock.silent(0.2)
    client.close()


def _subscribed_on(redis_cluster, port: int, user_id: int) -> bool:
    with contextlib.closing(redis_cluster.node(port)) as node:
        try:
            return node.pubsub_shardnumsub(tagged_user_channel(user_id))[0][1] == 1
        except redis.RedisError:
            time.sleep(0.05)
            return False


def test_a_subscription_sent_to_a_former_owner_is_redirected(redis_cluster, cluster_relay, sockets):
    # The slot moves while nobody here listens on it: the relay's slot map is now out of date, so
    # the user's SSUBSCRIBE goes to the old node, which answers MOVED; the relay reads the map
    # again and subscribes on the new owner before the socket starts.
    user_id = new_user_id()
    slot = redis_cluster.keyslot(tagged_user_channel(user_id))
    target = next(port for port in redis_cluster.ports if port != redis_cluster.port_of_slot(slot))
    migrate_slot(redis_cluster, slot, target)

    sock, _ = sockets.join(cluster_relay, user_id)

    assert _subscribed_on(redis_cluster, target, user_id)
    client = redis_cluster.client()
    event_id = publish_task(client, [user_id])
    assert event_id_of(sock.recv()) == event_id
    client.close()


def test_a_primary_down_and_back(redis_cluster, cluster_relay, sockets):
    # Last in this module: it stops a node. Without a replica to take over, the cluster is down
    # until the node is back, and the node comes back empty (no persistence here).
    users = users_on_every_node(redis_cluster)
    joined = {port: sockets.join(cluster_relay, user_id)[0] for port, user_id in users.items()}
    down = redis_cluster.ports[-1]
    client = redis_cluster.client()
    publish_task(client, [users[down]], title="before the node goes")
    client.close()
    cursor_before_down = joined[down].recv()["cursor"]
    [process] = [process for process in redis_cluster.processes if process.name == f"redis-cluster-{down}"]
    process.stop(sig=signal.SIGKILL)
    wait_until(
        lambda: not cluster_relay.internal_health().json()["links"].get(f"127.0.0.1:{down}"), what="the link down"
    )

    # Meanwhile a newcomer is told to try again later: not an error, not a hang.
    newcomer = next(user for user in iter(new_user_id, None) if node_of(redis_cluster, user) == down)
    assert sockets.open(cluster_relay, sign_ticket(newcomer)).close_code() == TRY_AGAIN_LATER

    process.start()
    wait_until(lambda: _cluster_ok(redis_cluster), timeout=30, what="cluster_state:ok")
    wait_until(lambda: all(cluster_relay.internal_health().json()["links"].values()), timeout=30, what="every link up")
    client = redis_cluster.client()
    event_id = publish_task(client, list(users.values()))
    client.close()

    # The sockets on the surviving nodes go on live. The one whose history died with the node
    # cannot be caught up: it is told to resync, or (when the node's slots were not served yet
    # as it tried) to reconnect, and then told to resync. Either way nothing is silently lost.
    for port, sock in joined.items():
        if port != down:
            assert event_id_of(sock.recv()) == event_id
    first = _frame_or_close_code(joined[down])
    if first == TRY_AGAIN_LATER:
        again, _ = sockets.join(cluster_relay, users[down], cursor=cursor_before_down)
        assert again.recv() == {"type": "resync"}
    else:
        assert first == {"type": "resync"}
        assert event_id_of(joined[down].recv()) == event_id


def _frame_or_close_code(sock) -> dict | int | None:
    try:
        return sock.recv()
    except ConnectionClosed as closed:
        return None if closed.rcvd is None else closed.rcvd.code


def _cluster_ok(redis_cluster) -> bool:
    try:
        for port in redis_cluster.ports:
            with contextlib.closing(redis_cluster.node(port)) as node:
                if node.execute_command("CLUSTER INFO")["cluster_state"] != "ok":
                    return False
    except redis.RedisError:
        return False
    return True
