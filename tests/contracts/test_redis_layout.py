"""Where events live in Redis (taskflow_contracts.redis_layout) and the WebSocket frame built from a
stored UserMessage. Pure pydantic, no Django."""

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from taskflow_contracts import (
    EventType,
    UserMessage,
    dedupe_key,
    event_frame,
    event_from_json,
    user_channel,
    user_stream,
)
from taskflow_contracts.events import TaskCommented

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

    assert user_channel(7) == "user:7"
    assert user_stream(7) == "user:7:events"
    assert dedupe_key(event_id) == f"event:{event_id}:published"


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
