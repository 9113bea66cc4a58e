"""The write path of domain events: `event_emit(...)`, called only from service functions.

Inside the caller's transaction it writes, together with the change itself, the per-recipient
Notification rows and one OutboxEvent row (and, for a board event, takes the project's next
board number); after commit the event is published to Redis at once (notifications.publisher).
Whatever the fast path could not publish, the outbox relay does. docs/scaling.md says what is
ordered and why nothing every writer shares is locked.

The statement is a call of a PL/pgSQL function (notifications_event_emit_traced, migration
notifications 0012): PostgreSQL then plans it once per server connection, with no prepared
statement a transaction-mode PgBouncer would lose; planned on every call, it cost about 0.5 ms
of database CPU per event (docs/events.md "Write path and delivery").
"""

import functools
import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from pydantic import BaseModel
from taskflow_contracts import EVENT_MODELS, Actor, EventType
from taskflow_contracts.events import ProjectRef, TaskRef, UserRef
from taskflow_contracts.logs import request_id_var

from accounts.models import User
from common.serialization import iso_datetime
from notifications import publisher
from notifications.messages import MessageContext, render_message
from notifications.models import Channel
from notifications.preferences import DEFAULT_PREFERENCES, preferences_of

logger = logging.getLogger(__name__)


@dataclass
class Audience:
    """Who an event concerns before preferences: users (already filtered to current members and
    active accounts by the caller's rule) and, for invites, addresses without an account."""

    users: Sequence[User] = ()
    email_addresses: Sequence[str] = ()
    # System events (user.revoked) go to these users' sockets regardless of preferences.
    system: bool = False
    # Board events (BOARD_EVENT_TYPES) reach every active member of the project as it is at
    # commit; these users get the frame too although they are no longer members then (the
    # removed member, everyone of a deleted project).
    board_also: Sequence[int] = ()


# The events every member's open board hears of (DESIGN.md "Live boards"): one frame per active
# member of the project, `notification` set only for those the event also notifies. The actor is
# one of them, so their other tabs follow. Deadline reminders change nothing on a board.
BOARD_EVENT_TYPES: frozenset[str] = frozenset(
    {
        EventType.TASK_CREATED,
        EventType.TASK_ASSIGNED,
        EventType.TASK_UNASSIGNED,
        EventType.TASK_STATUS_CHANGED,
        EventType.TASK_UPDATED,
        EventType.TASK_COMMENTED,
        EventType.TASK_MOVED,
        EventType.TASK_DELETED,
        EventType.PROJECT_UPDATED,
        EventType.PROJECT_DELETED,
        EventType.PROJECT_MEMBER_JOINED,
        EventType.PROJECT_MEMBER_REMOVED,
        EventType.PROJECT_MEMBER_ROLE_CHANGED,
    }
)

# The task events kept in the task's history (tasks.models.TaskActivity). A reorder within a
# column is not history; a deleted task has none left.
ACTIVITY_EVENT_TYPES: frozenset[str] = frozenset(
    {
        EventType.TASK_CREATED,
        EventType.TASK_ASSIGNED,
        EventType.TASK_UNASSIGNED,
        EventType.TASK_STATUS_CHANGED,
        EventType.TASK_UPDATED,
        EventType.TASK_COMMENTED,
    }
)


# --- Snapshots for event data --------------------------------------------------------------------


def actor_of(user: User | None) -> Actor | None:
    return Actor(id=user.pk, name=str(user.name)) if user is not None else None


def user_ref(user: User) -> UserRef:
    return UserRef(id=user.pk, name=str(user.name))


def _canonical(instance: Any, attribute: str) -> str:
    """A translated field in the default language (falling back to any written language): event
    data is language-neutral; notification messages are rendered per recipient."""
    with translation.override(settings.MODELTRANSLATION_DEFAULT_LANGUAGE):
        return str(getattr(instance, attribute) or "")


def task_ref(task: Any) -> TaskRef:
    return TaskRef(
        id=task.pk,
        title=_canonical(task, "title"),
        status=task.status,
        priority=task.priority,
        project_id=task.project_id,
        assignee_id=task.assignee_id,
        deadline=task.deadline,
        rank=task.rank,
    )


def project_ref(project: Any) -> ProjectRef:
    return ProjectRef(id=project.pk, name=_canonical(project, "name"))


# --- Audiences -----------------------------------------------------------------------------------


def task_audience(*, task: Any, include: Iterable[User | None] = ()) -> list[User]:
    """Assignee, reporter, watchers and commenters of the task (plus `include`), limited to
    active users who are still members of the task's project. One query."""
    from tasks.models import Comment, TaskWatcher

    people = {u.pk for u in include if u is not None}
    people |= {pk for pk in (task.assignee_id, task.reporter_id) if pk is not None}
    condition = (
        Q(pk__in=people)
        | Q(pk__in=TaskWatcher.objects.filter(task_id=task.pk).values("user_id"))
        | Q(pk__in=Comment.objects.filter(task_id=task.pk, author__isnull=False).values("author_id"))
    )
    members = User.objects.filter(condition, is_active=True, memberships__project_id=task.project_id)
    return list(members.only(*_RECIPIENT_COLUMNS).distinct().order_by("pk"))


# What rendering and routing need of a recipient.
_RECIPIENT_COLUMNS = ("id", "name", "email", "language", "telegram_chat_id", "has_notification_preferences")


def project_admins(*, project: Any) -> list[User]:
    """Owner and admins of a project (active accounts)."""
    return list(
        User.objects.filter(
            is_active=True, memberships__project=project, memberships__role__in=["owner", "admin"]
        ).order_by("pk")
    )


# --- Emitting ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EmittedEvent:
    """What event_emit wrote: the event's id and type, its outbox row, and for a board event its
    project and board number there."""

    event_id: uuid.UUID
    type: str
    outbox_id: int
    board_project: int | None = None
    board_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Emit:
    """One event for events_emit: event_emit's arguments."""

    event_type: EventType
    actor: User | None
    data: BaseModel
    audience: Audience
    task: Any = None
    project: Any = None


def event_emit(
    *,
    event_type: EventType,
    actor: User | None,
    data: BaseModel,
    audience: Audience,
    task: Any = None,
    project: Any = None,
) -> EmittedEvent | None:
    """Records one event inside the current transaction: Notification rows for the recipients
    who want it in the web app, the outbox row with its deliveries (for a board event: to every
    active member of the project at that moment, with the project's next board number) and the
    task's history entry, in one round trip; publishing follows the commit.

    Precondition: called inside `transaction.atomic()` by a service function, after the change
    the event describes. A board event keeps its project's BoardSequence row locked until the
    transaction ends: other writers on that project wait there, writers on other projects never.
    The actor is never a recipient; preferences decide the channels. An event nobody is to
    receive on any channel writes nothing and returns None (it has no consumer)."""
    (emitted,) = events_emit(
        [Emit(event_type=event_type, actor=actor, data=data, audience=audience, task=task, project=project)]
    )
    return emitted


def events_emit(emits: Sequence[Emit]) -> list[EmittedEvent | None]:
    """event_emit for several events of one write, in the order given: their statements go in one
    round trip (one after the other, each as event_emit's) and their fast-path publish is one
    on_commit callback, so all of them reach Redis in the same two round trips. A write emitting
    `task.created` and `task.assigned` saves a database round trip and two Redis round trips.
    The callback is registered once, after every statement, in the caller's atomic block: a
    rollback of that block drops all of them together, as it drops their rows. Preconditions:
    event_emit's."""
    db = transaction.get_connection()
    if not db.in_atomic_block:
        raise RuntimeError("event_emit must be called inside the writing transaction")
    request_id = request_id_var.get() or ""
    prepared = [_prepared(emit, request_id) for emit in emits]
    statements = [item for item in prepared if item is not None]
    if not statements:
        return [None] * len(emits)
    with db.cursor() as cursor:
        # Several statements in one execute: Django binds parameters on the client, so they
        # go as one simple-protocol message and answer one result set each, in order.
        cursor.execute(
            ";".join([_EMIT_SQL] * len(statements)),
            [value for statement in statements for value in statement.params],
        )
        answers = []
        for position in range(len(statements)):
            if position:
                cursor.nextset()
            answers.append(cursor.fetchone())
    messages: list[publisher.OutboxMessage] = []
    emitted: dict[int, EmittedEvent] = {}
    for statement, (outbox_id, board_seq, deliveries) in zip(statements, answers, strict=True):
        if isinstance(deliveries, str):  # Django leaves jsonb as text for its JSONField to decode
            deliveries = json.loads(deliveries)
        messages.append(
            publisher.OutboxMessage(
                event_id=str(statement.event_id),
                envelope_json=statement.envelope_json,
                board_project=statement.board_project,
                board_seq=board_seq,
                deliveries=deliveries,
                request_id=request_id,
            )
        )
        emitted[id(statement)] = EmittedEvent(
            event_id=statement.event_id,
            type=statement.event_type,
            outbox_id=outbox_id,
            board_project=statement.board_project,
            board_seq=board_seq,
        )
    db.on_commit(
        functools.partial(
            publisher.publish_after_commit,
            messages=messages,
            emitted_at=[statement.emitted_at for statement in statements],
        ),
        robust=True,
    )
    return [None if item is None else emitted[id(item)] for item in prepared]


@dataclass(frozen=True, slots=True)
class _Statement:
    """One event's call of the SQL function, and what its publish needs besides the answer."""

    event_id: uuid.UUID
    event_type: str
    envelope_json: str
    board_project: int | None
    emitted_at: float
    params: list[Any]


def _prepared(emit: Emit, request_id: str) -> _Statement | None:
    """The event's recipients per channel, its envelope and its notifications' messages, as the
    SQL function's arguments; None when nobody is to receive it on any channel."""
    event_type, actor, data, audience, task, project = (
        emit.event_type,
        emit.actor,
        emit.data,
        emit.audience,
        emit.task,
        emit.project,
    )
    users = [u for u in audience.users if actor is None or u.pk != actor.pk or audience.system]
    channels: dict[str, list[Any]] = {Channel.WEB: [], Channel.EMAIL: [], Channel.TELEGRAM: []}
    if audience.system:
        channels[Channel.WEB] = [u.pk for u in users]
    elif users:
        wanted = preferences_of(
            user_ids=[u.pk for u in users],
            event_type=event_type,
            customized=[u.pk for u in users if u.has_notification_preferences],
        )
        for user in users:
            for channel, on in wanted[user.pk].items():
                if on and (channel != Channel.TELEGRAM or user.telegram_chat_id is not None):
                    channels[channel].append(user.pk)
    email_addresses = []
    if audience.email_addresses and DEFAULT_PREFERENCES[event_type].get(Channel.EMAIL, False):
        # People without an account have no preferences yet: the default decides.
        email_addresses = sorted(set(audience.email_addresses))
    board = event_type in BOARD_EVENT_TYPES
    if not (board or email_addresses or any(channels.values())):
        return None

    event_id = uuid.uuid4()
    now = timezone.now()
    envelope_model = EVENT_MODELS[event_type](id=event_id, occurred_at=now, actor=actor_of(actor), data=data)
    # Serialized once, compact, by pydantic: what the outbox row keeps and every recipient gets.
    envelope_json = envelope_model.model_dump_json(by_alias=True)
    recipients = {**{str(k): v for k, v in channels.items()}, "email_addresses": email_addresses}
    web = set(channels[Channel.WEB])
    notified: list[tuple[int, str]] = []
    if web and not audience.system:
        context = MessageContext(
            event_type=event_type,
            actor_name=actor.name if actor is not None else None,
            data=data,
            task=task,
            project=project,
        )
        notified = [(user.pk, render_message(context, user)) for user in users if user.pk in web]
    # Sockets that get the event without a notification: a system event's users, and the board.
    plain = sorted(web) if audience.system else []
    if board:
        plain = sorted({*plain, *audience.board_also})
    board_project = (task.project_id if task is not None else project.pk) if board else None
    activity_task = task.pk if task is not None and event_type in ACTIVITY_EVENT_TYPES else None
    # In _EMIT_SQL's order. The request that caused the event is kept on its outbox row (not in
    # the envelope) for the logs of everything the event leads to (docs/operations.md
    # "Following a request").
    params: list[Any] = [
        request_id,
        event_id,
        event_type,
        envelope_json,
        json.dumps(recipients),
        now,
        iso_datetime(now) or "",
        # [[recipient id, message], ...]
        json.dumps(notified, ensure_ascii=False),
        json.dumps(plain),
        board_project,
        json.dumps(board_marks(event_type, data) if board else {}),
        activity_task,
        actor.pk if actor is not None else None,
        str(actor.name) if actor is not None else "",
    ]
    return _Statement(
        event_id=event_id,
        event_type=event_type,
        envelope_json=envelope_json,
        board_project=board_project,
        emitted_at=now.timestamp(),
        params=params,
    )


def board_marks(event_type: str, data: BaseModel) -> dict[str, dict[str, bool]]:
    """What a board event's deliveries carry besides the number, by user id ("*": everyone):
    `baseline` for the member who joins (their stream has no number of the board yet; they take
    this event as is), `reset` for whoever leaves the board (the removed member; everyone when
    the project is deleted): their stream forgets its number, so a later return starts afresh."""
    if event_type == EventType.PROJECT_MEMBER_JOINED:
        return {str(data.member.id): {"baseline": True}}  # type: ignore[attr-defined]
    if event_type == EventType.PROJECT_MEMBER_REMOVED:
        return {str(data.member.id): {"reset": True}}  # type: ignore[attr-defined]
    if event_type == EventType.PROJECT_DELETED:
        return {"*": {"reset": True}}
    return {}


# One statement, one round trip: the function notifications_event_emit_traced (migration
# notifications 0012, where its SQL is; a change to it is a new migration) sets the transaction's
# request id (the outbox row's default, 0010), takes the board's next
# number and its row lock (waiting for a writer of the same project to commit) and then, in a
# statement of its own whose snapshot is taken after that wait, writes the Notification rows, the
# outbox row with its deliveries (the board's active members as they are now, so a member who
# joined or left in the transaction it waited for is counted as such) and the task's history
# entry. A function because PostgreSQL then plans its statements once per server connection
# (PL/pgSQL caches them; PgBouncer's transaction mode cannot take that away): planning the
# statement on every call cost about 0.5 ms of database CPU per event (docs/events.md).
# Answers (outbox id, board number, deliveries).
_EMIT_SQL = """
SELECT outbox_row, board_number, row_deliveries FROM notifications_event_emit_traced(
    %s::varchar, %s::uuid, %s::varchar, %s::jsonb, %s::jsonb, %s::timestamptz, %s::text, %s::jsonb, %s::jsonb,
    %s::bigint, %s::jsonb, %s::bigint, %s::bigint, %s::varchar
)
"""
