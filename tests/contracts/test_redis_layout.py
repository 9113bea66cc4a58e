"""Where events live in Redis (taskflow_contracts.redis_layout), the WebSocket frame built from a
stored UserMessage, and which Redis the environment names (taskflow_contracts.RedisTopology).
Pure Python, no Django, no Redis (DELIVER_LUA runs against the real Redis in
tests/django_core/notifications/test_publish_order.py)."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from taskflow_contracts import EventType, RedisTopology, UserMessage, event_frame, event_from_json
from taskflow_contracts.events import TaskCommented
from taskflow_contracts.redis_layout import (
    outbox_done_key,
    tagged_user_channel,
    tagged_user_presence,
    tagged_user_stream,
    user_boards,
    user_delivery_keys,
    user_held,
    user_published,
    user_tag,
)

from tests.contracts.samples import NOTIFICATION, SAMPLE_DATA


def user_message_json(notification: dict | None) -> str:
    event = TaskCommented(
        id=uuid4(),
        occurred_at=datetime.now(UTC),
        actor={"id": 7, "name": 'Ada "the" Countess'},
        data=SAMPLE_DATA[EventType.TASK_COMMENTED],
    )
    return UserMessage(event=event, notification=notification).model_dump_json(by_alias=True)


def test_keys():
    event_id = str(uuid4())

    assert user_tag(7) == "{7}"
    assert tagged_user_channel(7) == "user:{7}"
    assert tagged_user_stream(7) == "user:{7}:events"
    assert user_published(7) == "user:{7}:published"
    assert user_boards(7) == "user:{7}:boards"
    assert user_held(7) == "user:{7}:held"
    assert tagged_user_presence(7) == "user:{7}:presence"
    assert outbox_done_key(event_id) == f"outbox:done:{event_id}"


def test_a_users_delivery_keys_share_one_hash_tag_in_the_scripts_order():
    keys = user_delivery_keys(7)

    assert keys == ["user:{7}:events", "user:{7}", "user:{7}:published", "user:{7}:boards", "user:{7}:held"]
    # Redis Cluster hashes only what is between the first { and the next }: the same for all
    assert {key[key.index("{") + 1 : key.index("}")] for key in keys} == {"7"}


@pytest.mark.parametrize("notification", [None, NOTIFICATION], ids=["null", "payload"])
@pytest.mark.parametrize("cursor", ["1795446955453-0", "0-1"])
def test_event_frame_is_the_message_with_type_and_cursor(cursor, notification):
    message_json = user_message_json(notification)

    frame = event_frame(cursor, message_json)

    # valid JSON, equal to the message plus the frame's own keys
    assert json.loads(frame) == {"type": "event", "cursor": cursor, **json.loads(message_json)}
    # and what a client gets still parses as the contract says
    document = json.loads(frame)
    assert event_from_json(json.dumps(document["event"])).type == "task.commented"
    assert UserMessage.model_validate({"event": document["event"], "notification": document["notification"]})


def test_event_frame_keeps_the_message_bytes():
    message_json = user_message_json(NOTIFICATION)

    frame = event_frame("1-0", message_json)

    assert frame.endswith(message_json[1:])


@pytest.mark.parametrize("not_an_object", ["", "[]", '"text"', "null"])
def test_event_frame_refuses_anything_but_a_json_object(not_an_object):
    with pytest.raises(ValueError, match="JSON object"):
        event_frame("1-0", not_an_object)


def test_the_topology_is_a_cluster_else_sentinel_else_a_single_node():
    both = {"REDIS_CLUSTER_URL": "redis://node-1:7000", "REDIS_SENTINELS": "s1:26379", "REDIS_SENTINEL_MASTER": "m"}

    assert RedisTopology.from_env({}).mode == "single"
    assert RedisTopology.from_env({}).url == "redis://127.0.0.1:6379/0"
    assert RedisTopology.from_env(both).mode == "cluster"
    sentinel = RedisTopology.from_env({**both, "REDIS_CLUSTER_URL": " ", "REDIS_URL": "redis://:pw@x/3"})
    assert (sentinel.mode, sentinel.master, sentinel.url) == ("sentinel", "m", "redis://:pw@x/3")


def test_sentinels_are_parsed_ipv6_included_and_need_a_primary_name():
    topology = RedisTopology.from_env({"REDIS_SENTINELS": "s1:26379, [::1]:26380,", "REDIS_SENTINEL_MASTER": "m"})

    assert topology.sentinels == (("s1", 26379), ("::1", 26380))
    with pytest.raises(ValueError, match="REDIS_SENTINEL_MASTER"):
        RedisTopology.from_env({"REDIS_SENTINELS": "s1:26379"})
    with pytest.raises(ValueError, match="not host:port"):
        RedisTopology.from_env({"REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "m"})


def test_describing_a_topology_never_shows_a_password():
    single = RedisTopology.from_env({"REDIS_URL": "redis://user:secret@cache:6380/2"})
    cluster = RedisTopology.from_env({"REDIS_CLUSTER_URL": "redis://:secret@node-1:7000"})

    assert single.describe() == "single node redis://cache:6380/2"
    assert cluster.describe() == "cluster (seed redis://node-1:7000)"
