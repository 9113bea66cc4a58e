"""Publish order is commit order, whoever gets to Redis first: the outbox script
(taskflow_contracts.redis_layout.PUBLISH_OUTBOX_EVENT_LUA) against the real Redis, and racing
writers committing through the real services."""

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from notifications import publisher
from notifications.models import OutboxEvent
from taskflow_contracts import user_channel, user_stream
from taskflow_contracts.redis_layout import (
    OUTBOX_HELD_PREFIX,
    OUTBOX_PUBLISHED_SEQ,
    PUBLISH_EVENT_LUA,
)

from common.redis import redis_client
from tasks import services
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import stream_entries

ALREADY, PUBLISHED, HELD = publisher.ALREADY_PUBLISHED, publisher.PUBLISHED, publisher.HELD


@pytest.fixture
def sequence() -> Iterator[None]:
    """No outbox sequence in Redis before and after (other tests in this process publish too)."""

    def clear() -> None:
        client = redis_client()
        client.delete(OUTBOX_PUBLISHED_SEQ, *client.keys(f"{OUTBOX_HELD_PREFIX}*"))

    clear()
    yield
    clear()


def event(seq: int, user_id: int, text: str) -> OutboxEvent:
    """An outbox row as the publisher reads it (not saved: the script only sees Redis)."""
    envelope = {"v": 1, "id": str(uuid.uuid4()), "type": "task.commented", "text": text}
    return OutboxEvent(
        id=seq,
        event_id=envelope["id"],
        type="task.commented",
        envelope=envelope,
        deliveries=[{"user_id": user_id, "notification": None}],
    )


def texts(user_id: int) -> list[str]:
    return [message["event"]["text"] for _, message in stream_entries_of(user_id)]


def stream_entries_of(user_id: int) -> list[tuple[str, dict]]:
    return [
        (cursor.decode(), json.loads(fields[b"m"])) for cursor, fields in redis_client().xrange(user_stream(user_id))
    ]


USER = 990_000_001  # no test process gives out ids this high (see conftest._disjoint_user_ids)


@pytest.fixture
def user_stream_cleared() -> Iterator[int]:
    redis_client().delete(user_stream(USER))
    yield USER
    redis_client().delete(user_stream(USER))


def test_events_published_in_sequence_go_out_at_once(sequence, user_stream_cleared):
    first, second = event(101, USER, "first"), event(102, USER, "second")

    assert publisher.publish_event(first, prev=None, force=False) == PUBLISHED
    assert publisher.publish_event(second, prev=101, force=False) == PUBLISHED

    assert texts(USER) == ["first", "second"]
    assert redis_client().get(OUTBOX_PUBLISHED_SEQ) == b"102"


def test_an_event_that_overtakes_its_predecessor_is_held_and_follows_it(sequence, user_stream_cleared):
    publisher.publish_event(event(100, USER, "zero"), prev=None, force=False)
    subscriber = redis_client().pubsub()
    subscriber.subscribe(user_channel(USER))
    subscriber.get_message(timeout=1)  # the subscribe confirmation

    # the later commit's fast path reaches Redis first: it waits
    assert publisher.publish_event(event(102, USER, "second"), prev=101, force=False) == HELD
    assert texts(USER) == ["zero"]
    assert subscriber.get_message(timeout=0.2) is None

    # the earlier one arrives and releases it, in order, on the channel and in the stream
    assert publisher.publish_event(event(101, USER, "first"), prev=100, force=False) == PUBLISHED
    assert texts(USER) == ["zero", "first", "second"]
    frames = [json.loads(subscriber.get_message(timeout=1)["data"]) for _ in range(2)]
    subscriber.close()
    assert [frame["event"]["text"] for frame in frames] == ["first", "second"]
    assert [frame["cursor"] for frame in frames] == [cursor for cursor, _ in stream_entries_of(USER)[1:]]
    assert redis_client().get(OUTBOX_PUBLISHED_SEQ) == b"102"
    assert redis_client().keys(f"{OUTBOX_HELD_PREFIX}*") == []


def test_a_chain_of_held_events_is_released_in_order_by_one_publish(sequence, user_stream_cleared):
    publisher.publish_event(event(200, USER, "base"), prev=None, force=False)
    for seq in (205, 203, 204, 202):
        assert publisher.publish_event(event(seq, USER, str(seq)), prev=seq - 1, force=False) == HELD

    assert publisher.publish_event(event(201, USER, "201"), prev=200, force=False) == PUBLISHED

    assert texts(USER) == ["base", "201", "202", "203", "204", "205"]
    assert redis_client().get(OUTBOX_PUBLISHED_SEQ) == b"205"


def test_the_relay_forces_the_oldest_unpublished_event_and_releases_what_waits_on_it(sequence, user_stream_cleared):
    publisher.publish_event(event(300, USER, "base"), prev=None, force=False)
    assert publisher.publish_event(event(302, USER, "302"), prev=301, force=False) == HELD

    # the relay walks unpublished rows in id order; everything before them is out
    assert publisher.publish_event(event(301, USER, "301"), force=True) == PUBLISHED

    assert texts(USER) == ["base", "301", "302"]


def test_an_event_is_published_once_whoever_publishes_it(sequence, user_stream_cleared):
    first = event(400, USER, "once")

    assert publisher.publish_event(first, prev=None, force=False) == PUBLISHED
    assert publisher.publish_event(first, prev=None, force=False) == ALREADY
    assert publisher.publish_event(first, force=True) == ALREADY

    assert texts(USER) == ["once"]


def test_an_event_with_no_realtime_recipient_still_moves_the_sequence(sequence, user_stream_cleared):
    publisher.publish_event(event(500, USER, "base"), prev=None, force=False)
    email_only = OutboxEvent(id=501, event_id=uuid.uuid4(), type="project.invited", envelope={}, deliveries=[])
    assert publisher.publish_event(event(502, USER, "after"), prev=501, force=False) == HELD

    assert publisher.publish_event(email_only, prev=500, force=False) == PUBLISHED

    assert texts(USER) == ["base", "after"]


def test_without_a_sequence_in_redis_only_an_event_with_no_predecessor_goes_out_at_once(sequence, user_stream_cleared):
    # Redis lost its data: an event whose predecessor may still be unpublished waits for the relay
    assert publisher.publish_event(event(601, USER, "601"), prev=600, force=False) == HELD
    assert texts(USER) == []
    # the relay re-establishes the sequence
    assert publisher.publish_event(event(600, USER, "600"), force=True) == PUBLISHED
    assert texts(USER) == ["600", "601"]


def test_the_very_first_event_goes_out_at_once(sequence, user_stream_cleared):
    assert publisher.publish_event(event(1, USER, "first ever"), prev=None, force=False) == PUBLISHED
    assert texts(USER) == ["first ever"]


def test_an_event_whose_predecessor_is_older_than_the_sequence_goes_out_at_once(sequence, user_stream_cleared):
    # (its predecessor row was pruned, or went out long ago)
    publisher.publish_event(event(700, USER, "700"), prev=None, force=False)

    assert publisher.publish_event(event(650, USER, "late"), prev=640, force=False) == PUBLISHED

    assert texts(USER) == ["700", "late"]
    assert redis_client().get(OUTBOX_PUBLISHED_SEQ) == b"700"


def test_the_outbox_script_stores_and_frames_a_message_as_the_plain_one_does(sequence, user_stream_cleared):
    # The relay's POST /notify/deadline publishes with PUBLISH_EVENT_LUA: both must write the same
    # stream entries and frames.
    client = redis_client()
    message = '{"event":{"id":"x"},"notification":null}'
    other = USER + 1
    client.delete(user_stream(other))
    subscriber = client.pubsub()
    subscriber.subscribe(user_channel(USER), user_channel(other))
    for _ in range(2):
        subscriber.get_message(timeout=1)
    keys, args = publisher._script_call(str(uuid.uuid4()), "{}", [], seq=800, prev=None, force=False)
    publisher._publish_script()(keys=[*keys, user_stream(USER), user_channel(USER)], args=[*args, message])
    client.register_script(PUBLISH_EVENT_LUA)(
        keys=[f"event:{uuid.uuid4()}:published", user_stream(other), user_channel(other)],
        args=[args[0], args[1], args[2], message],
    )
    frames = [subscriber.get_message(timeout=1) for _ in range(2)]
    subscriber.close()
    stored = {user: client.xrange(user_stream(user)) for user in (USER, other)}
    expiring = [client.ttl(user_stream(user)) > 0 for user in (USER, other)]
    client.delete(user_stream(other))

    assert [entries[0][1] for entries in stored.values()] == [{b"m": message.encode()}] * 2
    for frame, user in zip(frames, (USER, other), strict=True):
        cursor = stored[user][0][0].decode()
        assert frame["channel"].decode() == user_channel(user)
        assert frame["data"].decode() == '{"type":"event","cursor":"' + cursor + '",' + message[1:]
    assert expiring == [True, True]


WRITERS = 4
COMMENTS_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_racing_writers_reach_the_watcher_in_commit_order_without_the_relay(team, sequence, monkeypatch):
    # given a task the member watches, and four people commenting on it at once, each on their
    # own connection, each fast path racing the others to Redis after its commit; every third
    # fast path is slow to start (a thread descheduled right after COMMIT), so later commits
    # overtake it
    outcomes: list[int] = []
    fast_path_call = publisher._fast_path_call

    def counted_call(keys, args):
        outcomes.append(fast_path_call(keys, args))
        return outcomes[-1]

    original_fast_path = publisher.publish_after_commit

    def slow_sometimes(**kwargs) -> None:
        if kwargs["outbox_id"] % 3 == 0:
            time.sleep(0.02)
        original_fast_path(**kwargs)

    monkeypatch.setattr(publisher, "_fast_path_call", counted_call)
    monkeypatch.setattr(publisher, "publish_after_commit", slow_sometimes)
    watcher = team["member"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=watcher, title="Race")
    services.task_update(task=task, actor=team["owner"], fields={"priority": "high"})  # a first event
    authors = [team["owner"], team["admin"], team["owner"], team["admin"]]
    redis_client().delete(user_stream(watcher.pk))
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(author) -> None:
        try:
            start.wait()
            for number in range(COMMENTS_EACH):
                services.comment_create(task=task, author=author, body=f"{author.pk}-{number}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(author,)) for author in authors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then every comment reached the watcher's history exactly once, in outbox id (commit) order,
    # with nothing left held back and no relay run
    assert errors == []
    rows = list(OutboxEvent.objects.filter(type="task.commented").order_by("id"))
    assert len(rows) == WRITERS * COMMENTS_EACH
    history = [message["event"]["id"] for _, message in stream_entries(watcher)]
    assert history == [str(row.event_id) for row in rows]
    assert redis_client().keys(f"{OUTBOX_HELD_PREFIX}*") == []
    # (and the race did happen: some events reached Redis before their predecessor and waited)
    assert HELD in outcomes
