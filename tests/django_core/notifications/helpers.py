"""Assertions shared by the notification tests: what an outbox row holds, who got a stored
notification, and what a real subscriber received for it."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from notifications.models import Notification, OutboxEvent
from redis.client import PubSub
from taskflow_contracts import (
    EVENT_MODELS,
    EventType,
    NotificationPayload,
    UserMessage,
    dedupe_key,
    event_frame,
    event_from_json,
    user_channel,
    user_stream,
)
from taskflow_contracts.events import EventBase

from accounts.models import User
from common.redis import redis_client
from projects.models import Project
from tasks.models import Task

# How long a subscriber waits, after the last frame, before it decides nothing else is coming.
# Publishing is synchronous (the Lua script runs before the request returns), so this only
# covers the trip through the local socket.
QUIET_SECONDS = 0.2

NO_RECIPIENTS = {"web": [], "email": [], "telegram": [], "email_addresses": []}


@dataclass
class Crew:
    """A project and a task in it, with one person for each way of being (or not being) in the
    task's audience."""

    project: Project
    owner: User  # project owner, not involved in the task
    bystander: User  # project admin, not involved in the task
    reporter: User  # member who reported the task (and watches it)
    assignee: User  # member the task is assigned to (and who watches it)
    watcher: User  # viewer who watches the task
    commenter: User  # member who commented on the task, without watching it
    outsider: User  # owner of another project, with a stale watch row on this task
    task: Task

    @property
    def everyone(self) -> list[User]:
        return [
            self.owner,
            self.bystander,
            self.reporter,
            self.assignee,
            self.watcher,
            self.commenter,
            self.outsider,
        ]

    @property
    def involved(self) -> list[User]:
        """The task's audience before preferences: assignee, reporter, watchers, commenters."""
        return [self.reporter, self.assignee, self.watcher, self.commenter]

    @property
    def members(self) -> list[User]:
        """Everyone in the project, whose boards hear of its board events (not the outsider)."""
        return [self.owner, self.bystander, self.reporter, self.assignee, self.watcher, self.commenter]


@dataclass(frozen=True)
class Frame:
    """One pub/sub message as a relay receives it."""

    user_id: int
    raw: str

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def type(self) -> str:
        return self.body["event"]["type"]


@dataclass
class Subscriber:
    """A redis-py pub/sub connection to the test Redis, subscribed to users' channels."""

    pubsub: PubSub
    channels: dict[str, int] = field(default_factory=dict)

    def listen(self, *users: User) -> "Subscriber":
        """Subscribes and waits for each confirmation, so nothing published afterwards is missed."""
        for user in users:
            channel = user_channel(user.pk)
            self.pubsub.subscribe(channel)
            confirmation = self.pubsub.get_message(timeout=1)
            assert confirmation is not None
            assert confirmation["type"] == "subscribe"
            self.channels[channel] = user.pk
        return self

    def receive(self) -> list[Frame]:
        """Every frame of this test's events that arrives until the channels go quiet, in
        arrival order."""
        frames = []
        while (message := self.pubsub.get_message(timeout=QUIET_SECONDS)) is not None:
            if message["type"] == "message":
                channel = message["channel"].decode()
                frames.append(Frame(user_id=self.channels[channel], raw=message["data"].decode()))
        ours = our_event_ids()
        return [frame for frame in frames if frame.body["event"]["id"] in ours]


def our_event_ids() -> set[str]:
    """Ids of the events this test's database holds. The Redis server may be shared with other
    test sessions, whose users have the same ids in their own databases: what they publish on
    `user:{id}` is none of this test's business (and every event of this test is in its outbox)."""
    return {str(event_id) for event_id in OutboxEvent.objects.values_list("event_id", flat=True)}


def pks(users: Iterable[User]) -> list[int]:
    return sorted(user.pk for user in users)


def outbox_rows(*event_types: str) -> list[OutboxEvent]:
    """Outbox rows in commit order, optionally only some types."""
    rows = OutboxEvent.objects.order_by("id")
    return list(rows.filter(type__in=event_types) if event_types else rows)


def only_outbox(event_type: str) -> OutboxEvent:
    rows = outbox_rows(event_type)
    assert len(rows) == 1, f"{len(rows)} outbox rows of type {event_type}"
    return rows[0]


def envelope_of(row: OutboxEvent) -> Any:
    """The row's envelope parsed by the shared contract, checked to be the model of its type and
    to serialize back to exactly what was stored."""
    event: EventBase = event_from_json(json.dumps(row.envelope))
    assert type(event) is EVENT_MODELS[EventType(row.type)]
    assert str(event.id) == str(row.event_id)
    assert event.model_dump(mode="json", by_alias=True) == row.envelope
    return event


def notified(row: OutboxEvent) -> list[int]:
    """Who got a stored notification for the row's event, each checked against the event."""
    notifications = list(Notification.objects.filter(event_id=row.event_id).order_by("recipient_id"))
    for notification in notifications:
        assert notification.type == row.type
        assert notification.data == row.envelope["data"]
        assert notification.message
        assert not notification.is_read
    return [n.recipient_id for n in notifications]


def stream_entries(user: User) -> list[tuple[str, dict[str, Any]]]:
    """The user's history stream: (cursor, UserMessage as a dict), oldest first; this test's
    events only (see our_event_ids)."""
    ours = our_event_ids()
    entries = [
        (cursor.decode(), json.loads(fields[b"m"])) for cursor, fields in redis_client().xrange(user_stream(user.pk))
    ]
    return [(cursor, message) for cursor, message in entries if message["event"]["id"] in ours]


def assert_frame(frame: Frame, row: OutboxEvent) -> UserMessage:
    """A frame as the realtime contract defines it: `{"type":"event","cursor",...}` where the
    cursor is the id of the stream entry holding the same message, the event is the row's
    envelope, and the notification is the recipient's stored one (or null for system events)."""
    body = frame.body
    assert list(body) == ["type", "cursor", "event", "notification"]
    assert body["type"] == "event"
    entries = redis_client().xrange(user_stream(frame.user_id), body["cursor"], body["cursor"])
    assert len(entries) == 1, f"no stream entry {body['cursor']} for user {frame.user_id}"
    stored = entries[0][1][b"m"].decode()
    assert frame.raw == event_frame(body["cursor"], stored)
    message = UserMessage.model_validate_json(stored)
    assert type(message.event) is EVENT_MODELS[EventType(row.type)]
    assert body["event"] == row.envelope
    notification = Notification.objects.filter(recipient_id=frame.user_id, event_id=row.event_id).first()
    if notification is None:
        assert message.notification is None
    else:
        assert message.notification == NotificationPayload(
            id=notification.pk, message=notification.message, is_read=False, created_at=notification.created_at
        )
    return message


def others(people: Iterable[User], excluded: Iterable[User]) -> list[User]:
    """`people` but those `excluded`: e.g. the members whose board frame carries no notification."""
    left_out = {user.pk for user in excluded}
    return [user for user in people if user.pk not in left_out]


def assert_published(
    row: OutboxEvent, frames: list[Frame], *, to: Iterable[User], board: Iterable[User] = ()
) -> dict[int, UserMessage]:
    """The row was published (the event's dedupe marker is set in Redis; the relay marks the row
    itself later), and exactly these users received one valid frame of it each, nobody else:
    `to`, the users the event notified, each frame carrying their stored notification; `board`,
    the users whose frame carries `"notification": null` (the project's other members for a
    board event, the actor included; a system event's users). The row's deliveries are those
    users in id order, each with the same notification (or null) as their frame. Every user
    expected must be listened to; listen to some who are not (the outsider) to see them left out."""
    to_ids, board_ids = pks(to), pks(board)
    assert not set(to_ids) & set(board_ids), "a user is expected both with and without a notification"
    expected = sorted(to_ids + board_ids)
    assert redis_client().exists(dedupe_key(str(row.event_id)))
    assert notified(row) == to_ids
    stored = {n.recipient_id: n for n in Notification.objects.filter(event_id=row.event_id)}
    assert [delivery["user_id"] for delivery in row.deliveries] == expected
    for delivery in row.deliveries:
        notification = stored.get(delivery["user_id"])
        if notification is None:
            assert delivery["notification"] is None, delivery
        else:
            assert delivery["notification"]["id"] == notification.pk
            assert delivery["notification"]["message"] == notification.message
    mine = [frame for frame in frames if frame.body["event"]["id"] == str(row.event_id)]
    assert sorted(frame.user_id for frame in mine) == expected
    messages = {frame.user_id: assert_frame(frame, row) for frame in mine}
    for user_id, message in messages.items():
        assert (message.notification is not None) == (user_id in to_ids), f"user {user_id}: {message.notification}"
    return messages


def relay_passed(row: OutboxEvent) -> bool:
    """The relay's watermark is at or past this row: it counts as published."""
    from notifications.publisher import outbox_published_through

    return row.pk <= outbox_published_through()


def set_relay_watermark(through: int) -> None:
    """Moves the relay's watermark (as a crash before its update commits would leave it)."""
    from notifications.models import OutboxPublished

    OutboxPublished.objects.update_or_create(pk=1, defaults={"through": through})
