"""The write path's publishing on the Redis topologies other than a single node (tests/engines
starts them): on a three-master Cluster, where one event's deliveries land on several nodes and
the fast path's calls are split by node; and under Sentinel, across a failover that kills the
primary. What the fast path could not deliver, the relay does, on the new primary."""

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from notifications.models import OutboxEvent
from taskflow_contracts.redis_layout import outbox_done_key, tagged_user_stream

from common.redis import redis_client
from tasks import services
from tests.django_core.notifications.helpers import relay_until_passed
from tests.django_core.waiting import wait_until
from tests.engines.redis_cluster import RedisClusterEngine
from tests.engines.redis_sentinel import RedisSentinelEngine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaling]

MEMBERS = ("owner", "admin", "member", "viewer")


@contextlib.contextmanager
def realtime_redis(**topology: str) -> Iterator[Any]:
    """django-core's Redis client on the given topology inside the block."""
    redis_client.cache_clear()
    try:
        with override_settings(**{"REDIS_CLUSTER_URL": "", "REDIS_SENTINELS": "", **topology}):
            yield redis_client()
    finally:
        redis_client.cache_clear()


def create(team: dict[str, Any], title: str) -> None:
    services.task_create(actor=team["owner"], project=team["project"], title=title)


def titles_heard(client: Any, user_id: int) -> list[str]:
    entries = client.xrange(tagged_user_stream(user_id))
    return [json.loads(fields[b"m"])["event"]["data"]["task"]["title"] for _, fields in entries]


def test_on_a_cluster_every_member_hears_of_every_write_in_board_order(team, redis_cluster: RedisClusterEngine):
    members = [team[role] for role in MEMBERS]
    nodes = {redis_cluster.port_of_slot(redis_cluster.keyslot(tagged_user_stream(user.pk))) for user in members}
    assert len(nodes) > 1, "the members' keys should live on more than one node"

    with realtime_redis(REDIS_CLUSTER_URL=redis_cluster.url) as client:
        # given a cluster whose nodes have forgotten the delivery script
        client.script_flush()  # (every primary)

        # when three tasks are created: the fast path delivers to each member on their node
        for title in ("one", "two", "three"):
            create(team, title)

        # then every member's stream holds them in board order, and every event is done
        for user in members:
            assert titles_heard(client, user.pk) == ["one", "two", "three"]
        rows = list(OutboxEvent.objects.order_by("board_seq"))
        assert all(client.exists(outbox_done_key(str(row.event_id))) for row in rows)
        # and the relay, passing them, delivers nothing twice
        relay_until_passed(rows)
        assert all(titles_heard(client, user.pk) == ["one", "two", "three"] for user in members)


def test_under_sentinel_the_relay_delivers_on_the_new_primary_what_a_killed_one_never_got(
    team, redis_sentinel: RedisSentinelEngine
):
    member = team["member"]
    # (the primary's database 0: REDIS_URL names the database and credentials under Sentinel)
    topology = {**redis_sentinel.env(), "REDIS_URL": "redis://127.0.0.1:6379/0"}
    with (
        realtime_redis(**topology),
        override_settings(REDIS_SOCKET_TIMEOUT=0.5, OUTBOX_FAST_PATH_PAUSE=0.5),
    ):
        client = redis_client()
        client.flushdb()
        # given an event delivered and replicated
        create(team, "before")
        assert titles_heard(client, member.pk) == ["before"]
        redis_sentinel.wait_replicated()
        time.sleep(1)  # (replication is asynchronous: the replica takes the last writes)

        # when the primary's machine dies and a task is created before the replica is promoted
        old_primary = redis_sentinel.primary
        failover = threading.Thread(target=redis_sentinel.failover, kwargs={"stop_primary": True})
        failover.start()
        assert wait_until(lambda: not old_primary.process.running, timeout=10), "the primary did not die"
        create(team, "during")  # the fast path cannot reach Redis: it stands aside
        failover.join(60)
        assert not failover.is_alive()

        # and another once Sentinel names the new primary (the fast path found it; the event
        # waits there for its predecessor, which never reached Redis)
        time.sleep(0.6)
        create(team, "after")
        assert titles_heard(redis_client(), member.pk) == ["before"]

        # then the relay delivers the one the dead primary never got, which releases the next
        rows = list(OutboxEvent.objects.order_by("board_seq"))
        relay_until_passed(rows)
        assert titles_heard(redis_client(), member.pk) == ["before", "during", "after"]
        assert all(redis_client().exists(outbox_done_key(str(row.event_id))) for row in rows)
