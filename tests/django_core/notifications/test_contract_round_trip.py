"""Every event type round-trips Django → Redis → subscriber and parses back into its shared
model, including the types no service produces yet (task.deadline_approaching, task.overdue)."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from notifications import events
from pydantic import ValidationError
from taskflow_contracts import EVENT_MODELS, EVENT_TYPES, EventType, event_from_json
from taskflow_contracts.events import (
    CommentRef,
    InviteRef,
    ProjectInvitedData,
    ProjectMemberJoinedData,
    ProjectMemberRemovedData,
    TaskAssignedData,
    TaskCommentedData,
    TaskCreatedData,
    TaskDeadlineApproaching,
    TaskDeadlineApproachingData,
    TaskOverdue,
    TaskOverdueData,
    TaskStatusChangedData,
    TaskUnassignedData,
    TaskUpdatedData,
    UserRevokedData,
)

from tests.django_core.notifications.helpers import (
    NO_RECIPIENTS,
    assert_published,
    envelope_of,
    notified,
    only_outbox,
)

pytestmark = pytest.mark.django_db


def sample_data(event_type: str, crew):
    task, reader = events.task_ref(crew.task), crew.watcher
    project = events.project_ref(crew.project)
    invite = InviteRef(id=1, email=reader.email, role="viewer", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    return {
        "project.invited": lambda: ProjectInvitedData(project=project, invite=invite),
        "project.member_joined": lambda: ProjectMemberJoinedData(
            project=project, member=events.user_ref(crew.assignee), role="member"
        ),
        "project.member_removed": lambda: ProjectMemberRemovedData(
            project=project, member=events.user_ref(crew.assignee)
        ),
        "task.created": lambda: TaskCreatedData(task=task),
        "task.assigned": lambda: TaskAssignedData(task=task, assignee=events.user_ref(crew.assignee)),
        "task.unassigned": lambda: TaskUnassignedData(task=task, previous_assignee=events.user_ref(crew.assignee)),
        "task.status_changed": lambda: TaskStatusChangedData(task=task, **{"from": "todo"}, to="todo"),
        "task.updated": lambda: TaskUpdatedData(task=task, changes=["description"]),
        "task.commented": lambda: TaskCommentedData(task=task, comment=CommentRef(id=1, body="Hi", author_id=None)),
        "task.deadline_approaching": lambda: TaskDeadlineApproachingData(task=task, window="1h"),
        "task.overdue": lambda: TaskOverdueData(task=task),
        "user.revoked": lambda: UserRevokedData(user_id=reader.pk, reason="deactivated"),
    }[event_type]()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_round_trips_from_django_through_redis(
    event_type, crew, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(crew.watcher, crew.reporter)
    system = event_type == "user.revoked"

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.event_emit(
            event_type=EventType(event_type),
            actor=None if system else crew.owner,
            data=sample_data(event_type, crew),
            audience=events.Audience(users=[crew.watcher], system=system),
            task=crew.task,
            project=crew.project,
        )

    row = only_outbox(event_type)
    event = envelope_of(row)
    assert type(event) is EVENT_MODELS[EventType(event_type)]
    assert notified(row) == ([] if system else [crew.watcher.pk])
    messages = assert_published(row, listening.receive(), to=[crew.watcher])
    assert type(messages[crew.watcher.pk].event) is EVENT_MODELS[EventType(event_type)]


@pytest.mark.parametrize("event_type", ["task.deadline_approaching", "task.overdue"])
def test_deadline_alerts_go_to_web_and_email_by_default(event_type, crew, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.event_emit(
            event_type=EventType(event_type),
            actor=None,
            data=sample_data(event_type, crew),
            audience=events.Audience(users=events.task_audience(task=crew.task)),
            task=crew.task,
        )

    row = only_outbox(event_type)
    audience = sorted(user.pk for user in crew.involved)
    assert row.recipients == {**NO_RECIPIENTS, "web": audience, "email": audience}
    assert envelope_of(row).actor is None


def deadline_envelope(**changes) -> dict:
    envelope = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "type": "task.deadline_approaching",
        "occurred_at": "2030-01-01T09:00:00+03:00",
        "actor": None,
        "data": {
            "task": {
                "id": 42,
                "title": "Ship it",
                "status": "in_progress",
                "priority": "high",
                "project_id": 3,
                "assignee_id": 7,
                "deadline": "2030-01-01T10:00:00Z",
            },
            "window": "1h",
        },
    }
    return {**envelope, **changes}


def test_a_deadline_alert_parses_into_its_model_in_utc():
    event = event_from_json(json.dumps(deadline_envelope()))

    assert isinstance(event, TaskDeadlineApproaching)
    assert event.data.window == "1h"
    assert event.occurred_at == datetime(2030, 1, 1, 6, tzinfo=UTC)
    assert event.data.task.deadline == datetime(2030, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"data": {**deadline_envelope()["data"], "window": "2h"}},
        {"data": {**deadline_envelope()["data"], "hours_left": 1}},
        {"data": {"task": deadline_envelope()["data"]["task"]}},
        {"occurred_at": "2030-01-01T09:00:00"},
        {"v": 2},
        {"source": "beat"},
    ],
    ids=["unknown-window", "undeclared-field", "no-window", "naive-time", "version-2", "undeclared-envelope-field"],
)
def test_a_malformed_deadline_alert_is_rejected(changes):
    with pytest.raises(ValidationError):
        event_from_json(json.dumps(deadline_envelope(**changes)))


def test_an_overdue_alert_parses_into_its_model_and_rejects_a_window():
    envelope = deadline_envelope(type="task.overdue", data={"task": deadline_envelope()["data"]["task"]})

    event = event_from_json(json.dumps(envelope))

    assert isinstance(event, TaskOverdue)
    assert event.model_dump(mode="json", by_alias=True)["data"] == envelope["data"]
    with pytest.raises(ValidationError):
        event_from_json(json.dumps({**envelope, "data": {**envelope["data"], "window": "1h"}}))


def test_an_alert_built_in_another_zone_is_stored_in_utc():
    local = datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=5)))
    event = TaskOverdue(
        id=uuid.uuid4(),
        occurred_at=local,
        actor=None,
        data=TaskOverdueData.model_validate({"task": deadline_envelope()["data"]["task"]}),
    )

    assert event.model_dump(mode="json")["occurred_at"] == "2030-01-01T07:00:00Z"
