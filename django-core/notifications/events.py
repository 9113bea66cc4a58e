"""The write path of domain events: `event_emit(...)`, called only from service functions.

Inside the caller's transaction it writes, together with the change itself, the per-recipient
Notification rows and one OutboxEvent row; after commit the event is published to Redis at once
(notifications.publisher). Whatever the fast path could not publish, the outbox relay does.
"""

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from pydantic import BaseModel
from taskflow_contracts import EVENT_MODELS, Actor, EventType
from taskflow_contracts.events import ProjectRef, TaskRef, UserRef

from accounts.models import User
from common.serialization import iso_datetime
from notifications import publisher
from notifications.messages import MessageContext, render_message
from notifications.models import Channel
from notifications.preferences import DEFAULT_PREFERENCES, preferences_of

logger = logging.getLogger(__name__)

# Taken by every transaction that writes an outbox row, from just before that insert to its
# commit: outbox ids are then handed out in commit order, and each row's insert (a later
# statement, READ COMMITTED as Django runs PostgreSQL) sees its predecessor. That order is the
# publish order the fast path and the relay keep (notifications.publisher). The critical section
# is the Notification insert, the outbox insert and the COMMIT.
OUTBOX_LOCK_KEY = 0x7A5F10


@dataclass
class Audience:
    """Who an event concerns before preferences: users (already filtered to current members and
    active accounts by the caller's rule) and, for invites, addresses without an account."""

    users: Sequence[User] = ()
    email_addresses: Sequence[str] = ()
    # System events (user.revoked) go to these users' sockets regardless of preferences.
    system: bool = False


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
    """What event_emit wrote: the outbox row's id and the event's id (the row itself is read
    back only by those who need it)."""

    outbox_id: int
    event_id: uuid.UUID
    type: str


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
    who want it in the web app, and the outbox row; publishing follows the commit.

    Precondition: called inside `transaction.atomic()` by a service function, after the change
    the event describes, as its last write (the outbox lock is held from here to the commit).
    The actor is never a recipient; preferences decide the channels. An event nobody is to
    receive on any channel writes nothing and returns None (it has no consumer)."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must be called inside the writing transaction")
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
    if audience.email_addresses and DEFAULT_PREFERENCES[event_type][Channel.EMAIL]:
        # People without an account have no preferences yet: the default decides.
        email_addresses = sorted(set(audience.email_addresses))
    if not (email_addresses or any(channels.values())):
        return None

    event_id = uuid.uuid4()
    envelope_model = EVENT_MODELS[event_type](id=event_id, occurred_at=timezone.now(), actor=actor_of(actor), data=data)
    envelope = envelope_model.model_dump(mode="json", by_alias=True)

    # Server-side binding and prepared statements (Django's own cursors bind on the client and
    # never prepare): PostgreSQL plans these statements once per pooled connection, not per
    # write. (Behind a transaction-pooling PgBouncer this needs its prepared-statement support.)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        if audience.system or not channels[Channel.WEB]:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [OUTBOX_LOCK_KEY], prepare=True)
            deliveries: list[dict[str, Any]] = [{"user_id": pk, "notification": None} for pk in channels[Channel.WEB]]
        else:
            web = set(channels[Channel.WEB])
            context = MessageContext(
                event_type=event_type,
                actor_name=actor.name if actor is not None else None,
                data=data,
                task=task,
                project=project,
            )
            messages = {user.pk: render_message(context, user) for user in users if user.pk in web}
            created_at = timezone.now()
            # The outbox lock and the Notification rows in one round trip (this runs on every
            # write): raw SQL, as the ORM's bulk_create costs more than the insert itself.
            cursor.execute(
                _NOTIFICATIONS_INSERT_SQL,
                [
                    OUTBOX_LOCK_KEY,
                    event_id,
                    event_type,
                    json.dumps(envelope["data"]),
                    created_at,
                    list(messages),
                    list(messages.values()),
                ],
                prepare=True,
            )
            ids = dict(cursor.fetchall())  # recipient id -> notification id
            stamp = iso_datetime(created_at)
            deliveries = [
                {
                    "user_id": user_id,
                    "notification": {"id": ids[user_id], "message": message, "is_read": False, "created_at": stamp},
                }
                for user_id, message in messages.items()
            ]

        recipients = {**{str(k): v for k, v in channels.items()}, "email_addresses": email_addresses}
        envelope_json = publisher.compact_json(envelope)
        # A statement after the one that took the lock, so its snapshot sees every outbox row
        # committed before ours (READ COMMITTED): the largest is our predecessor in commit order.
        cursor.execute(
            _OUTBOX_INSERT_SQL,
            [event_id, event_type, envelope_json, json.dumps(recipients), json.dumps(deliveries)],
            prepare=True,
        )
        inserted = cursor.fetchone()
        if inserted is None:  # INSERT … RETURNING always returns the row
            raise RuntimeError("the outbox insert returned no row")
        outbox_id, prev_id = inserted
    transaction.on_commit(
        lambda: publisher.publish_after_commit(
            outbox_id=outbox_id,
            prev_id=prev_id,
            event_id=str(event_id),
            envelope_json=envelope_json,
            deliveries=deliveries,
        ),
        robust=True,
    )
    return EmittedEvent(outbox_id=outbox_id, event_id=event_id, type=event_type)


_NOTIFICATIONS_INSERT_SQL = """
WITH ordered AS (SELECT pg_advisory_xact_lock(%s))
INSERT INTO notifications_notification (recipient_id, event_id, type, message, data, is_read, created_at)
SELECT r.recipient_id, %s, %s, r.message, %s::jsonb, false, %s
FROM ordered, unnest(%s::bigint[], %s::text[]) AS r(recipient_id, message)
RETURNING recipient_id, id
"""

_OUTBOX_INSERT_SQL = """
WITH previous AS (SELECT max(id) AS id FROM notifications_outboxevent)
INSERT INTO notifications_outboxevent
    (event_id, type, envelope, recipients, deliveries, created_at, attempts, last_error)
VALUES (%s, %s, %s::jsonb, %s::jsonb, %s::jsonb, clock_timestamp(), 0, '')
RETURNING id, (SELECT id FROM previous)
"""
