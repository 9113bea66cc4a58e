"""The Redis Cluster the scaling suites run on: three masters sharing the slots, keys with one
hash tag on one node, sharded pub/sub across nodes."""

import contextlib
import time

import pytest
import redis

from tests.engines.redis_cluster import RedisClusterEngine

pytestmark = pytest.mark.scaling


def test_three_masters_share_every_slot(redis_cluster: RedisClusterEngine) -> None:
    with contextlib.closing(redis_cluster.node(redis_cluster.ports[1])) as node:
        info = node.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py
        nodes = node.execute_command("CLUSTER NODES")

    assert info["cluster_state"] == "ok"
    assert int(info["cluster_slots_assigned"]) == 16384
    assert sorted(address for address, node in nodes.items() if "master" in node["flags"]) == sorted(
        f"127.0.0.1:{port}" for port in redis_cluster.ports
    )


def test_a_key_set_through_the_cluster_client_lands_on_the_node_of_its_slot(redis_cluster: RedisClusterEngine) -> None:
    client = redis_cluster.client()
    # Keys of one hash tag share a slot; two tags chosen to sit on different nodes.
    tags = {}
    for user_id in range(1, 200):
        port = redis_cluster.port_of_slot(redis_cluster.keyslot(f"{{u{user_id}}}"))
        tags.setdefault(port, user_id)
    assert len(tags) == 3, "three nodes should each serve some user's tag"

    for port, user_id in tags.items():
        client.set(f"user:{{u{user_id}}}:probe", "here")
        client.set(f"user:{{u{user_id}}}:other", "too")

        # The node of the slot has both keys; another node answers MOVED for them.
        with contextlib.closing(redis_cluster.node(port)) as owner:
            assert owner.mget(f"user:{{u{user_id}}}:probe", f"user:{{u{user_id}}}:other") == ["here", "too"]
        elsewhere = next(other for other in redis_cluster.ports if other != port)
        with (
            contextlib.closing(redis_cluster.node(elsewhere)) as node,
            pytest.raises(redis.exceptions.MovedError, match=f"127.0.0.1:{port}$"),
        ):
            node.get(f"user:{{u{user_id}}}:probe")
    client.close()


def test_sharded_pub_sub_reaches_a_subscriber_on_the_channels_node(redis_cluster: RedisClusterEngine) -> None:
    client = redis_cluster.client()
    channels = [f"user:{{u{user_id}}}" for user_id in (11, 12, 13, 14)]
    assert len({redis_cluster.port_of_slot(redis_cluster.keyslot(channel)) for channel in channels}) > 1
    pubsub = client.pubsub()
    for channel in channels:
        pubsub.ssubscribe(channel)

    # Each SPUBLISH goes to the channel's node and reaches the subscriber's connection there.
    for channel in channels:
        assert client.spublish(channel, f"to {channel}") == 1

    received = set()
    deadline = time.monotonic() + 10
    while len(received) < len(channels) and time.monotonic() < deadline:
        # The cluster pub/sub polls one node per call: short timeouts, many calls.
        message = pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.05)
        if message:
            received.add((message["channel"], message["data"]))
    assert received == {(channel, f"to {channel}") for channel in channels}
    pubsub.close()
    client.close()
