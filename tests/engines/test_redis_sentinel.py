"""The Sentinel setup the scaling suites run on: the client finds the primary through the
Sentinels, and a failover (asked for, or the primary killed) moves it to the replica, which the
same client then writes to."""

import contextlib

import pytest
from taskflow_contracts.redis_topology import RedisTopology, sync_client

from tests.engines.redis_sentinel import RedisSentinelEngine

pytestmark = pytest.mark.scaling


def topology(engine: RedisSentinelEngine) -> RedisTopology:
    return RedisTopology.from_env({**engine.env(), "REDIS_URL": "redis://127.0.0.1:6379/0"})


def test_every_sentinel_names_the_primary_and_knows_the_others(redis_sentinel: RedisSentinelEngine) -> None:
    (port,) = redis_sentinel.reported_primaries()

    assert redis_sentinel.servers[port].role() == "master"
    assert redis_sentinel.replica.role() == "slave"
    assert len(redis_sentinel.sentinels) == 3


@pytest.mark.parametrize("stop_primary", [False, True], ids=["sentinel-failover", "primary-killed"])
def test_a_failover_moves_the_primary_and_the_client_follows(
    redis_sentinel: RedisSentinelEngine, stop_primary: bool
) -> None:
    client = sync_client(topology(redis_sentinel), decode_responses=True, socket_timeout=2)
    old = redis_sentinel.primary.port
    client.set("probe:before", "kept")
    # Replicated before the switch (WAIT: one replica acknowledged it).
    assert client.execute_command("WAIT", 1, 2000) == 1

    new = redis_sentinel.failover(stop_primary=stop_primary)

    assert new != old
    assert redis_sentinel.reported_primaries() == {new}
    assert redis_sentinel.servers[new].role() == "master"
    # The old primary comes back as the new one's replica (a Sentinel reconfigures it).
    redis_sentinel.wait_replicated()
    assert redis_sentinel.servers[old].role() == "slave"
    # The Sentinel client asks again after the connection to the old primary fails or turns
    # read-only, and writes land on the new one.
    for attempt in range(50):
        try:
            client.set("probe:after", "written")
            break
        except Exception:
            if attempt == 49:
                raise
    with contextlib.closing(redis_sentinel.servers[new].client()) as primary:
        assert primary.mget("probe:before", "probe:after") == ["kept", "written"]
    client.close()
