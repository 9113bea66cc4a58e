"""The versioned event envelope and one model per event type.

    {"v": 1, "id": "<uuid4>", "type": "task.assigned", "occurred_at": "<ISO 8601 UTC>",
     "actor": {"id": 7, "name": "Ada"}, "data": {...}}

Every model forbids undeclared fields: a producer that adds a field without declaring it here
fails at construction. Changing a field's meaning or removing one needs a new `v`.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

SCHEMA_VERSION = 1

TaskStatus = Literal["todo", "in_progress", "review", "done"]
TaskPriority = Literal["low", "medium", "high", "urgent"]
Role = Literal["owner", "admin", "member", "viewer"]


class EventType(StrEnum):
    PROJECT_INVITED = "project.invited"
    PROJECT_MEMBER_JOINED = "project.member_joined"
    PROJECT_MEMBER_REMOVED = "project.member_removed"
    PROJECT_MEMBER_ROLE_CHANGED = "project.member_role_changed"
    PROJECT_UPDATED = "project.updated"
    PROJECT_DELETED = "project.deleted"
    TASK_CREATED = "task.created"
    TASK_ASSIGNED = "task.assigned"
    TASK_UNASSIGNED = "task.unassigned"
    TASK_STATUS_CHANGED = "task.status_changed"
    TASK_UPDATED = "task.updated"
    TASK_COMMENTED = "task.commented"
    TASK_MOVED = "task.moved"
    TASK_DELETED = "task.deleted"
    TASK_DEADLINE_APPROACHING = "task.deadline_approaching"
    TASK_OVERDUE = "task.overdue"
    USER_REVOKED = "user.revoked"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- Pieces the data models are made of ----------------------------------------------------------


class Actor(Strict):
    id: int
    name: str


class UserRef(Strict):
    id: int
    name: str


class ProjectRef(Strict):
    id: int
    name: str


class TaskRef(Strict):
    """The task as it is after the change (every task.* event carries it)."""

    id: int
    title: str
    status: TaskStatus
    priority: TaskPriority
    project_id: int
    assignee_id: int | None
    deadline: datetime | None
    # Its place in its column: boards sort a column by rank, compared as plain strings, then by
    # id. Added within v1 (envelopes written before it parse, with "").
    rank: str = ""


class InviteRef(Strict):
    id: int
    email: str
    role: Role
    expires_at: datetime


class CommentRef(Strict):
    id: int
    body: str
    author_id: int | None


# --- data of each event type ---------------------------------------------------------------------


class ProjectInvitedData(Strict):
    project: ProjectRef
    invite: InviteRef


class ProjectMemberJoinedData(Strict):
    project: ProjectRef
    member: UserRef
    role: Role


class ProjectMemberRemovedData(Strict):
    project: ProjectRef
    member: UserRef


class ProjectMemberRoleChangedData(Strict):
    project: ProjectRef
    member: UserRef
    role: Role
    previous_role: Role


ProjectField = Literal["name", "description"]


class ProjectUpdatedData(Strict):
    project: ProjectRef
    changes: list[ProjectField] = Field(min_length=1)


class ProjectDeletedData(Strict):
    project: ProjectRef


class TaskCreatedData(Strict):
    task: TaskRef


class TaskAssignedData(Strict):
    task: TaskRef
    assignee: UserRef
    previous_assignee_id: int | None = None


class TaskUnassignedData(Strict):
    task: TaskRef
    previous_assignee: UserRef


class TaskStatusChangedData(Strict):
    task: TaskRef
    from_: TaskStatus = Field(alias="from")
    to: TaskStatus


TaskField = Literal["title", "description", "priority", "deadline"]


class TaskUpdatedData(Strict):
    task: TaskRef
    changes: list[TaskField] = Field(min_length=1)


class TaskCommentedData(Strict):
    task: TaskRef
    comment: CommentRef


class TaskMovedData(Strict):
    """The task's rank changed within its column (a move to another column is task.status_changed)."""

    task: TaskRef


class TaskDeletedData(Strict):
    """The task as it was when deleted."""

    task: TaskRef


class TaskDeadlineApproachingData(Strict):
    task: TaskRef
    # Which reminder this is: 24 hours or 1 hour before the deadline.
    window: Literal["24h", "1h"]


class TaskOverdueData(Strict):
    task: TaskRef


class UserRevokedData(Strict):
    user_id: int
    reason: Literal["logout", "password_change", "deactivated"]


# --- The envelope, one class per type ------------------------------------------------------------


class EventBase(Strict):
    v: Literal[1] = SCHEMA_VERSION
    id: UUID
    occurred_at: datetime
    actor: Actor | None

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value.astimezone(UTC)


class ProjectInvited(EventBase):
    type: Literal["project.invited"] = "project.invited"
    data: ProjectInvitedData


class ProjectMemberJoined(EventBase):
    type: Literal["project.member_joined"] = "project.member_joined"
    data: ProjectMemberJoinedData


class ProjectMemberRemoved(EventBase):
    type: Literal["project.member_removed"] = "project.member_removed"
    data: ProjectMemberRemovedData


class ProjectMemberRoleChanged(EventBase):
    type: Literal["project.member_role_changed"] = "project.member_role_changed"
    data: ProjectMemberRoleChangedData


class ProjectUpdated(EventBase):
    type: Literal["project.updated"] = "project.updated"
    data: ProjectUpdatedData


class ProjectDeleted(EventBase):
    type: Literal["project.deleted"] = "project.deleted"
    data: ProjectDeletedData


class TaskCreated(EventBase):
    type: Literal["task.created"] = "task.created"
    data: TaskCreatedData


class TaskAssigned(EventBase):
    type: Literal["task.assigned"] = "task.assigned"
    data: TaskAssignedData


class TaskUnassigned(EventBase):
    type: Literal["task.unassigned"] = "task.unassigned"
    data: TaskUnassignedData


class TaskStatusChanged(EventBase):
    type: Literal["task.status_changed"] = "task.status_changed"
    data: TaskStatusChangedData


class TaskUpdated(EventBase):
    type: Literal["task.updated"] = "task.updated"
    data: TaskUpdatedData


class TaskCommented(EventBase):
    type: Literal["task.commented"] = "task.commented"
    data: TaskCommentedData


class TaskMoved(EventBase):
    type: Literal["task.moved"] = "task.moved"
    data: TaskMovedData


class TaskDeleted(EventBase):
    type: Literal["task.deleted"] = "task.deleted"
    data: TaskDeletedData


class TaskDeadlineApproaching(EventBase):
    type: Literal["task.deadline_approaching"] = "task.deadline_approaching"
    data: TaskDeadlineApproachingData


class TaskOverdue(EventBase):
    type: Literal["task.overdue"] = "task.overdue"
    data: TaskOverdueData


class UserRevoked(EventBase):
    type: Literal["user.revoked"] = "user.revoked"
    data: UserRevokedData


EVENT_MODELS: dict[EventType, type[EventBase]] = {
    EventType.PROJECT_INVITED: ProjectInvited,
    EventType.PROJECT_MEMBER_JOINED: ProjectMemberJoined,
    EventType.PROJECT_MEMBER_REMOVED: ProjectMemberRemoved,
    EventType.PROJECT_MEMBER_ROLE_CHANGED: ProjectMemberRoleChanged,
    EventType.PROJECT_UPDATED: ProjectUpdated,
    EventType.PROJECT_DELETED: ProjectDeleted,
    EventType.TASK_CREATED: TaskCreated,
    EventType.TASK_ASSIGNED: TaskAssigned,
    EventType.TASK_UNASSIGNED: TaskUnassigned,
    EventType.TASK_STATUS_CHANGED: TaskStatusChanged,
    EventType.TASK_UPDATED: TaskUpdated,
    EventType.TASK_COMMENTED: TaskCommented,
    EventType.TASK_MOVED: TaskMoved,
    EventType.TASK_DELETED: TaskDeleted,
    EventType.TASK_DEADLINE_APPROACHING: TaskDeadlineApproaching,
    EventType.TASK_OVERDUE: TaskOverdue,
    EventType.USER_REVOKED: UserRevoked,
}
EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)

Event = Annotated[
    ProjectInvited
    | ProjectMemberJoined
    | ProjectMemberRemoved
    | ProjectMemberRoleChanged
    | ProjectUpdated
    | ProjectDeleted
    | TaskCreated
    | TaskAssigned
    | TaskUnassigned
    | TaskStatusChanged
    | TaskUpdated
    | TaskCommented
    | TaskMoved
    | TaskDeleted
    | TaskDeadlineApproaching
    | TaskOverdue
    | UserRevoked,
    Field(discriminator="type"),
]
event_type_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def event_from_json(raw: str | bytes) -> EventBase:
    """Parses and validates an envelope of any type (raises pydantic.ValidationError)."""
    return event_type_adapter.validate_json(raw)  # type: ignore[return-value]


# --- What a recipient receives -------------------------------------------------------------------


class NotificationPayload(Strict):
    """The recipient's stored notification for an event (the web channel)."""

    id: int
    message: str
    is_read: bool
    created_at: datetime


class UserMessage(Strict):
    """One message on a user's channel and in their history stream."""

    event: Event
    notification: NotificationPayload | None
