"""Every event type round-trips Django → Redis → subscriber and parses back into its shared
model, including the types no service produces yet (task.deadline_approaching, task.overdue);
the board event types also from the service that produces them."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from notifications import events
from notifications.events import BOARD_EVENT_TYPES
from notifications.preferences import UNNOTIFIED_TYPES
from pydantic import ValidationError
from taskflow_contracts import EVENT_MODELS, EVENT_TYPES, EventType, event_from_json
from taskflow_contracts.events import (
    CommentRef,
    InviteRef,
    ProjectDeletedData,
    ProjectInvitedData,
    ProjectMemberJoinedData,
    ProjectMemberRemovedData,
    ProjectMemberRoleChangedData,
    ProjectUpdatedData,
    TaskAssignedData,
    TaskCommentedData,
    TaskCreatedData,
    TaskDeadlineApproaching,
    TaskDeadlineApproachingData,
    TaskDeletedData,
    TaskMovedData,
    TaskOverdue,
    TaskOverdueData,
    TaskStatusChangedData,
    TaskUnassigned,
    TaskUnassignedData,
    TaskUpdatedData,
    UserRevokedData,
)

from projects import services as project_services
from projects.models import Membership, Role
from tasks import services as task_services
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import (
    NO_RECIPIENTS,
    assert_published,
    envelope_of,
    only_outbox,
    others,
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
        "project.member_role_changed": lambda: ProjectMemberRoleChangedData(
            project=project, member=events.user_ref(reader), role="member", previous_role="viewer"
        ),
        "project.updated": lambda: ProjectUpdatedData(project=project, changes=["name", "description"]),
        "project.deleted": lambda: ProjectDeletedData(project=project),
        "task.created": lambda: TaskCreatedData(task=task),
        "task.assigned": lambda: TaskAssignedData(task=task, assignee=events.user_ref(crew.assignee)),
        "task.unassigned": lambda: TaskUnassignedData(task=task, previous_assignee=events.user_ref(crew.assignee)),
        "task.status_changed": lambda: TaskStatusChangedData(task=task, **{"from": "todo"}, to="todo"),
        "task.updated": lambda: TaskUpdatedData(task=task, changes=["description"]),
        "task.commented": lambda: TaskCommentedData(task=task, comment=CommentRef(id=1, body="Hi", author_id=None)),
        "task.moved": lambda: TaskMovedData(task=task),
        "task.deleted": lambda: TaskDeletedData(task=task),
        "task.deadline_approaching": lambda: TaskDeadlineApproachingData(task=task, window="1h"),
        "task.overdue": lambda: TaskOverdueData(task=task),
        "user.revoked": lambda: UserRevokedData(user_id=reader.pk, reason="deactivated"),
    }[event_type]()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_type_round_trips_from_django_through_redis(
    event_type, crew, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(*crew.everyone)
    system = event_type == "user.revoked"
    # Board-only types notify nobody (they have no preferences): their audience is empty.
    told = [] if event_type in UNNOTIFIED_TYPES and not system else [crew.watcher]

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        events.event_emit(
            event_type=EventType(event_type),
            actor=None if system else crew.owner,
            data=sample_data(event_type, crew),
            audience=events.Audience(users=told, system=system),
            task=crew.task,
            project=crew.project,
        )

    row = only_outbox(event_type)
    event = envelope_of(row)
    assert type(event) is EVENT_MODELS[EventType(event_type)]
    if system:  # to the user's sockets, without a notification
        to, board = [], [crew.watcher]
    elif event_type in BOARD_EVENT_TYPES:  # every member's board, the actor's too; not the outsider's
        to, board = told, others(crew.members, told)
    else:
        to, board = told, []
    messages = assert_published(row, listening.receive(), to=to, board=board)
    assert all(type(message.event) is EVENT_MODELS[EventType(event_type)] for message in messages.values())


def test_the_board_event_types_are_every_task_and_project_change_but_not_the_deadline_alerts():
    assert set(EVENT_TYPES) - BOARD_EVENT_TYPES == {
        "project.invited",
        "task.deadline_approaching",
        "task.overdue",
        "user.revoked",
    }


def produce(event_type: str, crew) -> None:
    """The event, written by the service that produces it (the owner acting)."""
    owner = crew.owner
    match event_type:
        case "task.moved":
            above = TaskFactory(project=crew.project, reporter=owner, status=crew.task.status, rank="a5")
            task_services.task_move(task=crew.task, actor=owner, after_id=above.pk)
        case "task.deleted":
            task_services.task_delete(task=crew.task, actor=owner)
        case "project.updated":
            project_services.project_update(project=crew.project, actor=owner, fields={"name_en": "Renamed"})
        case "project.deleted":
            project_services.project_delete(project=crew.project, actor=owner)
        case "project.member_role_changed":
            member = Membership.objects.get(project=crew.project, user=crew.watcher)
            project_services.membership_change_role(project=crew.project, actor=owner, member=member, role=Role.MEMBER)


@pytest.mark.parametrize(
    ("event_type", "told"),
    [
        ("task.moved", []),
        ("task.deleted", ["reporter", "assignee", "watcher", "commenter"]),
        ("project.updated", []),
        ("project.deleted", ["bystander", "reporter", "assignee", "watcher", "commenter"]),
        ("project.member_role_changed", ["watcher"]),
    ],
)
def test_each_new_board_event_round_trips_from_its_service_to_every_members_socket(
    event_type, told, crew, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(*crew.everyone)
    to = [getattr(crew, name) for name in told]

    with django_capture_on_commit_callbacks(execute=True):
        produce(event_type, crew)

    row = only_outbox(event_type)
    event = envelope_of(row)
    assert event.actor.id == crew.owner.pk
    messages = assert_published(row, listening.receive(), to=to, board=others(crew.members, to))
    assert {message.event.id for message in messages.values()} == {event.id}
    assert all(type(message.event) is EVENT_MODELS[EventType(event_type)] for message in messages.values())


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
                "rank": "a0V",
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


def test_a_task_snapshot_written_before_rank_existed_parses_with_an_empty_rank():
    task = {key: value for key, value in deadline_envelope()["data"]["task"].items() if key != "rank"}
    envelope = deadline_envelope(
        type="task.unassigned", data={"task": task, "previous_assignee": {"id": 7, "name": "Ada"}}
    )

    event = event_from_json(json.dumps(envelope))

    assert isinstance(event, TaskUnassigned)
    assert event.data.task.rank == ""
