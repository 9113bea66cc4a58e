"""Assertions shared by the notification tests: what an outbox row holds, who got a stored
notification, and what a real subscriber received for it."""

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from notifications.events import BOARD_EVENT_TYPES
from notifications.models import Notification, OutboxEvent
from redis.client import PubSub
from redis.cluster import RedisCluster
from taskflow_contracts import (
    EVENT_MODELS,
    EventType,
    NotificationPayload,
    UserMessage,
    event_frame,
    event_from_json,
)
from taskflow_contracts.events import EventBase
from taskflow_contracts.redis_layout import outbox_done_key, split_request_id, tagged_user_channel, tagged_user_stream

from accounts.models import User
from common.redis import redis_client
from projects.models import Project
from tasks.models import Task

# How long a subscriber waits, after the last frame, before it decides nothing else is coming.
# Publishing is synchronous (the Lua scripts run before the request returns), so this only
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


class ShardedSubscriber:
    """SSUBSCRIBE connections to the test Redis, the way the realtime relay listens: one
    connection, or on a Redis Cluster one per node owning a channel's slot."""

    def __init__(self) -> None:
        self.client = redis_client()
        self.links: dict[str, PubSub] = {}

    def _link(self, channel: str) -> PubSub:
        if isinstance(self.client, RedisCluster):
            node = self.client.get_node_from_key(channel)
            if node.name not in self.links:
                self.links[node.name] = self.client.get_redis_connection(node).pubsub()
            return self.links[node.name]
        if "" not in self.links:
            self.links[""] = self.client.pubsub()
        return self.links[""]

    def subscribe(self, *channels: str) -> None:
        """Subscribes and waits for each confirmation, so nothing published afterwards is missed."""
        for channel in channels:
            link = self._link(channel)
            link.ssubscribe(channel)
            confirmation = link.get_sharded_message(timeout=1)
            assert confirmation is not None, f"no confirmation of SSUBSCRIBE {channel}"
            assert confirmation["type"] == "ssubscribe"

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        """The next message published on one of the channels within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for link in self.links.values():
                message = link.get_sharded_message(timeout=0.01 if len(self.links) > 1 else timeout)
                if message is not None and message["type"] == "smessage":
                    return message
            if time.monotonic() >= deadline:
                return None

    def close(self) -> None:
        for link in self.links.values():
            link.close()


@dataclass
class Subscriber:
    """A ShardedSubscriber on users' channels `user:{7}`, whose frames it reads as the relay would."""

    sharded: ShardedSubscriber = field(default_factory=ShardedSubscriber)
    channels: dict[str, int] = field(default_factory=dict)

    def listen(self, *users: User) -> "Subscriber":
        for user in users:
            channel = tagged_user_channel(user.pk)
            self.sharded.subscribe(channel)
            self.channels[channel] = user.pk
        return self

    def receive(self) -> list[Frame]:
        """Every frame of this test's events that arrives until the channels go quiet, in
        arrival order."""
        frames = []
        while (message := self.sharded.next_message(timeout=QUIET_SECONDS)) is not None:
            channel = message["channel"].decode()
            # As the relay takes it: without the request id django-core may put first.
            _request_id, raw = split_request_id(message["data"].decode())
            frames.append(Frame(user_id=self.channels[channel], raw=raw))
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
        (cursor.decode(), json.loads(fields[b"m"]))
        for cursor, fields in redis_client().xrange(tagged_user_stream(user.pk))
    ]
    return [(cursor, message) for cursor, message in entries if message["event"]["id"] in ours]


def assert_frame(frame: Frame, row: OutboxEvent) -> UserMessage:
    """A frame as the realtime contract defines it: `{"type":"event","cursor",...}` where the
    cursor is the id of the stream entry holding the same message, the event is the row's
    envelope, and the notification is the recipient's stored one (or null for system events)."""
    body = frame.body
    assert list(body) == ["type", "cursor", "event", "notification"]
    assert body["type"] == "event"
    entries = redis_client().xrange(tagged_user_stream(frame.user_id), body["cursor"], body["cursor"])
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
    """The row was published (the event's done marker is set in Redis; the relay moves its
    watermark past the row later), and exactly these users received one valid frame of it each, nobody else:
    `to`, the users the event notified, each frame carrying their stored notification; `board`,
    the users whose frame carries `"notification": null` (the project's other members for a
    board event, the actor included; a system event's users). The row's deliveries are those
    users in id order, each with the same notification (or null) as their frame. Every user
    expected must be listened to; listen to some who are not (the outsider) to see them left out."""
    to_ids, board_ids = pks(to), pks(board)
    assert not set(to_ids) & set(board_ids), "a user is expected both with and without a notification"
    expected = sorted(to_ids + board_ids)
    assert redis_client().exists(outbox_done_key(str(row.event_id)))
    assert notified(row) == to_ids
    stored = {n.recipient_id: n for n in Notification.objects.filter(event_id=row.event_id)}
    assert [delivery["user_id"] for delivery in row.deliveries] == expected
    assert (row.board_seq is not None) == (row.type in BOARD_EVENT_TYPES)
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
    from notifications.publisher import outbox_published

    return OutboxEvent.objects.filter(pk=row.pk).filter(outbox_published()).exists()


def set_relay_watermark(*, through: OutboxEvent | None = None, before: OutboxEvent | None = None) -> None:
    """Moves the relay's watermark to a row (`through` it: passed; or just `before` it), or before
    every row (neither), as a crash before its update commits would leave it."""
    from notifications.models import OutboxWatermark

    xid, outbox_id = 0, 0
    if through is not None or before is not None:
        row = through or before
        xid, outbox_id = OutboxEvent.objects.values_list("xid", "id").get(pk=row.pk)  # type: ignore[union-attr]
        outbox_id -= 1 if before is not None else 0
    OutboxWatermark.objects.update_or_create(pk=1, defaults={"xid": xid, "outbox_id": outbox_id})


def relay_until_passed(
    rows: Iterable[OutboxEvent], *, older_than: timedelta | None = None, timeout: float = 30.0
) -> int:
    """Runs relay passes (no grace period unless `older_than`) until its watermark is past every
    one of `rows`; how many rows the passes moved it over. A pass passes only rows whose transactions are all over,
    and any writing transaction on the PostgreSQL server holds that back (other test sessions
    share it), so a pass may find nothing yet."""
    from notifications.publisher import outbox_publish_pending

    rows = list(rows)
    deadline = time.monotonic() + timeout
    passed = 0
    while True:
        passed += outbox_publish_pending(older_than=older_than)
        if all(relay_passed(row) for row in rows):
            return passed
        assert time.monotonic() < deadline, f"the relay did not pass {len(rows)} row(s) in {timeout:g} s"
        time.sleep(0.05)


class OpenTransaction:
    """Runs `write` on a connection of its own (a thread) inside a transaction that stays open
    after it, until `commit()`: as a request would that wrote its event and has not committed."""

    def __init__(self, write: Callable[[], object]) -> None:
        self.write = write
        self.written, self.finish = threading.Event(), threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self.write()
                self.written.set()
                assert self.finish.wait(30), "never told to commit"
        except BaseException as exc:
            self.error = exc
        finally:
            self.written.set()
            connection.close()

    def __enter__(self) -> "OpenTransaction":
        self.thread.start()
        assert self.written.wait(10)
        assert self.error is None, self.error
        return self

    def commit(self) -> None:
        self.finish.set()
        self.thread.join(10)
        assert not self.thread.is_alive()
        assert self.error is None, self.error

    def __exit__(self, *exc_info: object) -> None:
        if self.thread.is_alive():
            self.commit()


class Writer(threading.Thread):
    """Runs `write` (a service call: its own transaction) on a connection of its own."""

    def __init__(self, write: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.write = write
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.write()
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def finished_within(self, seconds: float) -> bool:
        self.join(seconds)
        assert self.error is None, self.error
        return not self.is_alive()
