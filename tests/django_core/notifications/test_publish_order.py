"""Board order per user, whoever gets to Redis first: the delivery script
(taskflow_contracts.redis_layout.DELIVER_LUA) as the publisher calls it, against the real Redis,
and writers on one board whose fast paths reach Redis out of order."""

import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from notifications import publisher
from notifications.models import OutboxEvent
from notifications.publisher import OutboxMessage, outbox_messages_publish
from taskflow_contracts import event_frame
from taskflow_contracts.redis_layout import (
    DEDUPE_TTL_SECONDS,
    outbox_done_key,
    tagged_user_channel,
    tagged_user_stream,
    user_boards,
    user_delivery_keys,
    user_held,
)

from common.redis import redis_client
from tasks import services
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import ShardedSubscriber, relay_until_passed, stream_entries

# No test process gives out user ids this high (see conftest.django_db_setup).
USER, OTHER = 990_000_001, 990_000_002
BOARD = 41


@pytest.fixture(autouse=True)
def _fresh_users() -> Iterator[None]:
    """USER's and OTHER's keys, empty before and after (other tests in this process use them)."""

    def clear() -> None:
        redis_client().delete(*user_delivery_keys(USER), *user_delivery_keys(OTHER))

    clear()
    yield
    clear()


def board_event(seq: int | None, text: str, *users: int, **marks: bool) -> OutboxMessage:
    """An event of BOARD numbered `seq` (None: not a board event) for `users` (default USER),
    each delivery with `marks` (baseline, reset)."""
    event_id = str(uuid.uuid4())
    envelope = {"v": 1, "id": event_id, "type": "task.commented", "text": text}
    return OutboxMessage(
        event_id=event_id,
        envelope_json=json.dumps(envelope, separators=(",", ":")),
        board_project=None if seq is None else BOARD,
        board_seq=seq,
        deliveries=[{"user_id": user, "notification": None, **marks} for user in users or (USER,)],
    )


def publish(message: OutboxMessage, *, force: bool = False) -> bool:
    """Delivers the event to its recipients; whether it is done (False: held for someone)."""
    (outcome,) = outbox_messages_publish([dataclasses.replace(message, force=force)])
    assert not isinstance(outcome, Exception), outcome
    return outcome


def texts(user_id: int = USER) -> list[str]:
    return [
        json.loads(fields[b"m"])["event"]["text"] for _, fields in redis_client().xrange(tagged_user_stream(user_id))
    ]


def board_number(user_id: int = USER) -> int | None:
    value = redis_client().hget(user_boards(user_id), BOARD)
    return None if value is None else int(value)


def done(message: OutboxMessage) -> bool:
    return bool(redis_client().exists(outbox_done_key(message.event_id)))


def test_board_events_in_number_order_go_out_at_once():
    first, second = board_event(1, "first"), board_event(2, "second")

    assert publish(first)
    assert publish(second)

    assert texts() == ["first", "second"]
    assert board_number() == 2
    assert done(first)
    assert done(second)


def test_a_board_event_that_overtakes_its_predecessor_is_held_and_follows_it_on_the_stream_and_the_channel():
    publish(board_event(1, "one"))
    subscriber = ShardedSubscriber()
    subscriber.subscribe(tagged_user_channel(USER))
    two, three = board_event(2, "two"), board_event(3, "three")

    # the later commit's fast path reaches Redis first: it waits, and its event is not done
    assert publish(three) is False
    assert texts() == ["one"]
    assert subscriber.next_message(timeout=0.2) is None
    assert not done(three)
    assert redis_client().hlen(user_held(USER)) == 1

    # the earlier one arrives and releases it, in order, on the channel and in the stream
    assert publish(two) is True
    assert texts() == ["one", "two", "three"]
    frames = [subscriber.next_message(timeout=1) for _ in range(2)]
    subscriber.close()
    entries = redis_client().xrange(tagged_user_stream(USER))[1:]
    assert [frame["channel"].decode() for frame in frames] == [tagged_user_channel(USER)] * 2
    assert [frame["data"].decode() for frame in frames] == [
        event_frame(cursor.decode(), fields[b"m"].decode()) for cursor, fields in entries
    ]
    assert board_number() == 3
    assert redis_client().hlen(user_held(USER)) == 0
    # the held event is marked done when it is delivered again (by the relay): a no-op for USER
    assert publish(three) is True
    assert texts() == ["one", "two", "three"]


def test_a_chain_of_held_events_is_released_in_order_by_one_delivery():
    publish(board_event(10, "base"))
    for seq in (15, 13, 14, 12):
        assert publish(board_event(seq, str(seq))) is False

    assert publish(board_event(11, "11")) is True

    assert texts() == ["base", "11", "12", "13", "14", "15"]
    assert board_number() == 15


def test_force_delivers_without_the_predecessor_and_releases_what_waits_behind():
    publish(board_event(20, "base"))
    assert publish(board_event(23, "23")) is False

    # the relay, for a row older than OUTBOX_FORCE_AFTER: its predecessor (21) is taken as lost
    assert publish(board_event(22, "22"), force=True) is True

    assert texts() == ["base", "22", "23"]
    assert board_number() == 23


def test_an_event_is_delivered_once_whoever_delivers_it():
    once = board_event(30, "once")

    assert publish(once) is True
    assert publish(once) is True
    assert publish(once, force=True) is True

    assert texts() == ["once"]
    assert 0 < redis_client().ttl(outbox_done_key(once.event_id)) <= DEDUPE_TTL_SECONDS


def test_events_without_a_board_number_go_out_at_once_past_held_ones():
    publish(board_event(40, "base"))
    assert publish(board_event(42, "held")) is False

    assert publish(board_event(None, "invitation")) is True

    assert texts() == ["base", "invitation"]


def test_a_user_with_no_number_for_the_board_takes_the_first_event_as_is():
    # (they just joined, or Redis lost its data)
    assert publish(board_event(57, "late start")) is True

    assert texts() == ["late start"]
    assert board_number() == 57


def test_a_baseline_delivery_goes_out_although_the_stream_remembers_an_older_number():
    # given a stream that remembers number 3 of the board (a return the reset never reached)
    publish(board_event(3, "long ago"))

    # when the user joins at number 9: their delivery is a baseline, the next one follows it
    assert publish(board_event(9, "joined", baseline=True)) is True
    assert publish(board_event(10, "next")) is True

    assert texts() == ["long ago", "joined", "next"]
    assert board_number() == 10


def test_without_the_baseline_the_joiners_event_would_wait_for_numbers_never_theirs():
    publish(board_event(3, "long ago"))

    assert publish(board_event(9, "joined")) is False


def test_a_reset_delivery_forgets_the_boards_number_so_a_return_starts_afresh():
    publish(board_event(5, "member"))

    # the user leaves: their delivery of the removal forgets the number
    assert publish(board_event(6, "removed", reset=True)) is True
    assert board_number() is None

    # and after a return, wherever the board's numbers are then, events go out at once
    assert publish(board_event(40, "back")) is True
    assert texts() == ["member", "removed", "back"]


def test_a_user_waiting_for_a_predecessor_holds_back_no_one_else():
    publish(board_event(50, "base"))  # USER has number 50; OTHER has none
    late = board_event(52, "52", USER, OTHER)

    assert publish(late) is False  # not done: USER waits

    assert (texts(USER), texts(OTHER)) == (["base"], ["52"])
    assert not done(late)


def test_the_message_stored_and_framed_is_the_user_message_with_the_stream_id_as_cursor():
    message = board_event(60, "framed")
    subscriber = ShardedSubscriber()
    subscriber.subscribe(tagged_user_channel(USER))

    publish(message)

    frame = subscriber.next_message(timeout=1)
    subscriber.close()
    [(cursor, fields)] = redis_client().xrange(tagged_user_stream(USER))
    stored = fields[b"m"].decode()
    assert stored == '{"event":' + message.envelope_json + ',"notification":null}'
    assert frame["data"].decode() == event_frame(cursor.decode(), stored)
    assert redis_client().ttl(tagged_user_stream(USER)) > 0


def test_two_fast_paths_reaching_redis_out_of_order_keep_the_boards_order(
    team, subscriber, django_capture_on_commit_callbacks
):
    # given a board whose members have heard of its events so far
    member = team["member"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Order")
    with django_capture_on_commit_callbacks(execute=True):
        services.task_update(task=task, actor=team["owner"], fields={"priority": "high"})
    listening = subscriber.listen(member)
    listening.receive()

    # when two writes commit one after the other, and the later one's fast path runs first
    with django_capture_on_commit_callbacks(execute=False) as first:
        services.task_update(task=task, actor=team["owner"], fields={"status": "in_progress"})
    with django_capture_on_commit_callbacks(execute=False) as second:
        services.comment_create(task=task, author=team["owner"], body="after the move")
    (publish_first,), (publish_second,) = first, second
    publish_second()

    # then the later event waits in Redis, not done, and nobody hears of it yet
    later = OutboxEvent.objects.get(type="task.commented")
    assert listening.receive() == []
    assert not redis_client().exists(outbox_done_key(str(later.event_id)))

    # until the earlier one is out: both arrive, in board order
    publish_first()
    frames = listening.receive()
    assert [frame.type for frame in frames] == ["task.status_changed", "task.commented"]
    seqs = [frame.body["event"]["id"] for frame in frames]
    rows = {str(row.event_id): row.board_seq for row in OutboxEvent.objects.all()}
    assert [rows[event_id] for event_id in seqs] == sorted(rows[event_id] for event_id in seqs)


WRITERS = 4
COMMENTS_EACH = 15


@pytest.mark.django_db(transaction=True)
def test_racing_writers_reach_the_watcher_in_board_order_without_the_relay(team, monkeypatch):
    # given a task the member watches, and four people commenting on it at once, each on their
    # own connection, each fast path racing the others to Redis after its commit; every third
    # fast path is slow to start (a thread descheduled right after COMMIT), so later commits
    # overtake it
    outcomes: list[bool | Exception] = []
    publish_messages = publisher.outbox_messages_publish

    def counted(messages):
        outcomes.extend(publish_messages(messages))
        return outcomes[-len(messages) :]

    original_fast_path = publisher.publish_after_commit

    def slow_sometimes(**kwargs) -> None:
        if kwargs["messages"][0].board_seq % 3 == 0:
            time.sleep(0.02)
        original_fast_path(**kwargs)

    monkeypatch.setattr(publisher, "outbox_messages_publish", counted)
    monkeypatch.setattr(publisher, "publish_after_commit", slow_sometimes)
    watcher = team["member"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=watcher, title="Race")
    services.task_update(task=task, actor=team["owner"], fields={"priority": "high"})  # a first event
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    authors = [team["owner"], team["admin"], team["owner"], team["admin"]]

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

    # then every comment reached the watcher's history exactly once, in board number order, the
    # numbers consecutive, with nothing left held back and no relay run
    assert errors == []
    rows = list(OutboxEvent.objects.filter(type="task.commented").order_by("board_seq"))
    assert len(rows) == WRITERS * COMMENTS_EACH
    numbers = [row.board_seq for row in rows]
    assert numbers == list(range(numbers[0], numbers[0] + len(rows)))
    history = [message["event"]["id"] for _, message in stream_entries(watcher)]
    assert history[-len(rows) :] == [str(row.event_id) for row in rows]
    assert redis_client().hlen(user_held(watcher.pk)) == 0
    # (and the race did happen: some events reached Redis before their predecessor and waited;
    # those are not marked done by their fast path)
    assert False in outcomes
    waited = [row for row in rows if not redis_client().exists(outbox_done_key(str(row.event_id)))]
    assert waited

    # when the relay passes, it marks them done, delivering nothing twice
    relay_until_passed(rows)
    assert all(redis_client().exists(outbox_done_key(str(row.event_id))) for row in rows)
    assert [message["event"]["id"] for _, message in stream_entries(watcher)] == history


def boards_number_of(user, project_id: int) -> int | None:
    value = redis_client().hget(user_boards(user.pk), project_id)
    return None if value is None else int(value)


def test_a_removed_member_forgets_the_boards_number_and_a_deleted_project_is_forgotten_by_all(
    team, django_capture_on_commit_callbacks
):
    from projects import services as project_services
    from projects.models import Membership

    project, owner, removed = team["project"], team["owner"], team["member"]
    with django_capture_on_commit_callbacks(execute=True):
        services.task_create(actor=owner, project=project, title="Heard by all")
    numbered = OutboxEvent.objects.get().board_seq
    project_id = project.pk
    assert boards_number_of(removed, project_id) == numbered

    # when a member is removed: their stream forgets the board's number, the others' move on
    with django_capture_on_commit_callbacks(execute=True):
        project_services.membership_remove(
            project=project, actor=owner, member=Membership.objects.get(project=project, user=removed)
        )
    assert boards_number_of(removed, project_id) is None
    assert boards_number_of(owner, project_id) == numbered + 1

    # and when the project is deleted, every member's stream forgets it
    with django_capture_on_commit_callbacks(execute=True):
        project_services.project_delete(project=project, actor=owner)
    assert [boards_number_of(team[role], project_id) for role in ("owner", "admin", "viewer")] == [None] * 3
