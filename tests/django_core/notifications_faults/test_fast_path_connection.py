"""The fast path publishes through the process's Redis client (common.redis: a single node, a
Sentinel primary or a Cluster). What Redis does to its connections costs neither an event nor a
pause of the fast path: a flushed script cache, connections Redis closed (a restart, an idle
timeout). A hung Redis is not retried: the request waits for it once."""

import time
from typing import Any

import pytest
import redis
from notifications import publisher
from notifications.models import OutboxEvent
from redis.cluster import RedisCluster

from common.redis import redis_client
from tasks import services
from tests.django_core.notifications.helpers import relay_passed
from tests.django_core.notifications_faults.conftest import redis_at, stream_entries

pytestmark = pytest.mark.django_db(transaction=True)


def create(team: dict[str, Any], title: str) -> None:
    """One event: task.created, which reaches every member's board (the member's among them)."""
    services.task_create(actor=team["owner"], project=team["project"], title=title)


def titles_heard(user_id: int) -> list[str]:
    return [message["event"]["data"]["task"]["title"] for _cursor, message in stream_entries(user_id)]


def assert_published_by_the_fast_path() -> None:
    assert publisher._fast_path_paused_until <= time.monotonic()
    assert not any(relay_passed(row) for row in OutboxEvent.objects.all())  # no relay ran


def close_pooled_connections() -> int:
    """Has Redis close the connections the client keeps idle (on every node of a Cluster); how
    many it closed."""
    client = redis_client()
    pools = (
        [node.redis_connection.connection_pool for node in client.get_nodes() if node.redis_connection]
        if isinstance(client, RedisCluster)
        else [client.connection_pool]
    )
    closed = 0
    for pool in pools:
        for connection in list(pool._available_connections):
            connection.send_command("CLIENT", "ID")
            client_id = int(connection.read_response())
            credentials = {name: pool.connection_kwargs.get(name) for name in ("username", "password")}
            killer = redis.Redis(host=connection.host, port=connection.port, **credentials)
            closed += killer.client_kill_filter(_id=client_id)
            killer.close()
    return closed


def test_the_fast_path_loads_its_script_again_when_redis_has_forgotten_it(team):
    # given an event published, and then Redis's script cache flushed (as after a restart)
    create(team, "First")
    redis_client().script_flush()

    # when the next event is published
    create(team, "Second")

    # then the fast path loaded the script and published it at once
    assert titles_heard(team["member"].pk) == ["First", "Second"]
    assert_published_by_the_fast_path()


def test_the_fast_path_reconnects_when_redis_closed_its_connections(team):
    # given an event published, and then Redis closing the client's connections
    create(team, "First")
    assert close_pooled_connections() > 0

    # when the next event is published
    create(team, "Second")

    # then the fast path reconnected and published it at once, without pausing
    assert titles_heard(team["member"].pk) == ["First", "Second"]
    assert_published_by_the_fast_path()


def test_a_hung_redis_is_waited_for_once_and_pauses_the_fast_path(team, silent_redis_url):
    # given Redis that accepts connections and never answers
    with redis_at(silent_redis_url, REDIS_SOCKET_TIMEOUT=0.3):
        started = time.monotonic()

        # when an event is published
        create(team, "Hung")

        # then the request waited one timeout, not one per retry, and the fast path stands aside
        assert time.monotonic() - started < 0.3 * 2
        assert publisher._fast_path_paused_until > time.monotonic()
    assert titles_heard(team["member"].pk) == []
