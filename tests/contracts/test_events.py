"""The event envelope contract (taskflow_contracts.events): what a producer may write and what a
consumer accepts. Pure pydantic, no Django."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError
from taskflow_contracts import EVENT_MODELS, EVENT_TYPES, SCHEMA_VERSION, EventType, UserMessage, event_from_json

from tests.contracts.samples import NOTIFICATION, SAMPLE_DATA, TASK, envelope


def objects_in(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every JSON object in `value` (the envelope itself is `()`)."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from objects_in(item, (*path, key))


def at(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        value = value[key]
    return value


def test_every_event_type_has_a_model_and_a_sample():
    assert set(EVENT_MODELS) == set(EventType) == set(SAMPLE_DATA)
    assert set(EVENT_TYPES) == {t.value for t in EventType}
    assert SCHEMA_VERSION == 1


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_every_event_type_round_trips_through_json(event_type):
    # given an event built by its model, as a producer does
    model = EVENT_MODELS[event_type]
    event = model(
        id=uuid4(),
        occurred_at=datetime(2026, 11, 23, 15, 15, 55, 403013, tzinfo=UTC),
        actor={"id": 7, "name": "Ada"},
        data=SAMPLE_DATA[event_type],
    )

    # when it is serialized as published and parsed as a consumer does
    raw = event.model_dump_json(by_alias=True)
    parsed = event_from_json(raw)

    # then it is the same event, of the same model, and the JSON is the documented envelope
    assert type(parsed) is model
    assert parsed == event
    document = json.loads(raw)
    assert set(document) == {"v", "id", "type", "occurred_at", "actor", "data"}
    assert document["v"] == 1
    assert document["type"] == event_type.value
    assert document["occurred_at"] == "2026-11-23T15:15:55.403013Z"
    assert document["data"] == json.loads(json.dumps(SAMPLE_DATA[event_type]))


@pytest.mark.parametrize("event_type", list(EventType), ids=str)
def test_a_system_event_has_a_null_actor(event_type):
    parsed = event_from_json(json.dumps(envelope(event_type, actor=None)))

    assert parsed.actor is None


def test_the_documented_example_envelope_parses():
    raw = """{"v": 1, "id": "5f0c3c8e-3f3e-4d55-9a57-1c2b0f1d7a10", "type": "task.assigned",
      "occurred_at": "2026-11-23T15:15:55.403013Z", "actor": {"id": 7, "name": "Ada"},
      "data": {"task": {"id": 42, "title": "Launch", "status": "todo", "priority": "high",
                        "project_id": 3, "assignee_id": 9, "deadline": "2026-12-01T10:00:00Z"},
               "assignee": {"id": 9, "name": "Bob"}, "previous_assignee_id": null}}"""

    event = event_from_json(raw)

    assert event.type == "task.assigned"
    assert event.data.assignee.name == "Bob"


UNDECLARED_FIELD_CASES = [
    pytest.param(event_type, path, id=f"{event_type}:{'.'.join(path) or 'envelope'}")
    for event_type in EventType
    for path in objects_in(envelope(event_type))
]


def test_the_undeclared_field_cases_cover_envelope_data_and_nested_task():
    paths = {case.values[1] for case in UNDECLARED_FIELD_CASES}
    assert {(), ("actor",), ("data",), ("data", "task"), ("data", "project"), ("data", "comment")} <= paths


@pytest.mark.parametrize(("event_type", "path"), UNDECLARED_FIELD_CASES)
def test_an_undeclared_field_anywhere_is_rejected(event_type, path):
    # given a valid envelope with one field nobody declared, at `path`
    document = envelope(event_type)
    event_from_json(json.dumps(document))  # valid as it is
    at(document, path)["surprise"] = 1

    # then neither a consumer nor a producer accepts it
    with pytest.raises(ValidationError) as parsing:
        event_from_json(json.dumps(document))
    assert any(error["type"] == "extra_forbidden" for error in parsing.value.errors())
    with pytest.raises(ValidationError):
        EVENT_MODELS[event_type].model_validate(document)


@pytest.mark.parametrize("version", [0, 2, None, "two"])
def test_a_wrong_schema_version_is_rejected(version):
    document = envelope(EventType.TASK_ASSIGNED, v=version)

    with pytest.raises(ValidationError) as parsing:
        event_from_json(json.dumps(document))

    assert [error["loc"][-1] for error in parsing.value.errors()] == ["v"]


def test_a_wrong_schema_version_is_rejected_at_construction():
    with pytest.raises(ValidationError):
        EVENT_MODELS[EventType.USER_REVOKED](
            v=2, id=uuid4(), occurred_at=datetime.now(UTC), actor=None, data=SAMPLE_DATA[EventType.USER_REVOKED]
        )


def test_an_unknown_event_type_is_rejected():
    document = envelope(EventType.TASK_CREATED, type="task.exploded")

    with pytest.raises(ValidationError):
        event_from_json(json.dumps(document))


def test_a_naive_occurred_at_is_rejected():
    naive_json = envelope(EventType.USER_REVOKED, occurred_at="2026-11-23T15:15:55")

    with pytest.raises(ValidationError, match="time zone"):
        event_from_json(json.dumps(naive_json))
    with pytest.raises(ValidationError, match="time zone"):
        EVENT_MODELS[EventType.USER_REVOKED](
            id=uuid4(),
            occurred_at=datetime(2026, 11, 23, 15, 15, 55),
            actor=None,
            data=SAMPLE_DATA[EventType.USER_REVOKED],
        )


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-11-23T17:15:55+02:00",
        "2026-11-23T10:15:55-05:00",
        datetime(2026, 11, 23, 20, 45, 55, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
    ids=["json+02:00", "json-05:00", "datetime+05:30"],
)
def test_an_aware_occurred_at_is_normalised_to_utc(occurred_at):
    if isinstance(occurred_at, str):
        event = event_from_json(json.dumps(envelope(EventType.USER_REVOKED, occurred_at=occurred_at)))
    else:
        event = EVENT_MODELS[EventType.USER_REVOKED](
            id=uuid4(), occurred_at=occurred_at, actor=None, data=SAMPLE_DATA[EventType.USER_REVOKED]
        )

    assert event.occurred_at == datetime(2026, 11, 23, 15, 15, 55, tzinfo=UTC)
    assert event.occurred_at.tzinfo is UTC
    assert json.loads(event.model_dump_json(by_alias=True))["occurred_at"] == "2026-11-23T15:15:55Z"


def test_status_changed_uses_the_json_key_from():
    # given a status change built by field name, as the producer does
    event = EVENT_MODELS[EventType.TASK_STATUS_CHANGED](
        id=uuid4(),
        occurred_at=datetime.now(UTC),
        actor=None,
        data={"task": TASK, "from_": "todo", "to": "in_progress"},
    )

    # then the published JSON says "from", and a consumer reads "from" back
    data = json.loads(event.model_dump_json(by_alias=True))["data"]
    assert data["from"] == "todo"
    assert "from_" not in data
    parsed = event_from_json(json.dumps(envelope(EventType.TASK_STATUS_CHANGED)))
    assert parsed.data.from_ == "todo"
    assert parsed.data.to == "in_progress"


def test_status_changed_without_from_is_rejected():
    document = envelope(EventType.TASK_STATUS_CHANGED)
    del document["data"]["from"]

    with pytest.raises(ValidationError):
        event_from_json(json.dumps(document))


def test_events_are_immutable():
    event = event_from_json(json.dumps(envelope(EventType.TASK_CREATED)))

    with pytest.raises(ValidationError):
        event.data.task.title = "Changed"  # type: ignore[misc]


@pytest.mark.parametrize("notification", [None, NOTIFICATION], ids=["null", "payload"])
def test_user_message_accepts_a_null_or_a_notification(notification):
    raw = json.dumps({"event": envelope(EventType.TASK_ASSIGNED), "notification": notification})

    message = UserMessage.model_validate_json(raw)

    assert message.event.type == "task.assigned"
    if notification is None:
        assert message.notification is None
    else:
        assert message.notification.id == 3
    assert UserMessage.model_validate_json(message.model_dump_json(by_alias=True)) == message


def test_user_message_rejects_an_undeclared_field_in_the_notification():
    raw = json.dumps({"event": envelope(EventType.TASK_ASSIGNED), "notification": {**NOTIFICATION, "url": "/x"}})

    with pytest.raises(ValidationError):
        UserMessage.model_validate_json(raw)
