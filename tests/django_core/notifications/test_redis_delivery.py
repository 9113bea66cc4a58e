"""Publishing to the real Redis: once per event whoever publishes it, and in board order."""

import contextlib
import functools

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from notifications import publisher
from notifications.models import Notification
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, outbox_done_key, tagged_user_stream

from common.redis import redis_client
from tasks import services
from tasks.models import Task
from tests.django_core.notifications.helpers import (
    assert_published,
    only_outbox,
    others,
    outbox_rows,
    relay_passed,
    relay_until_passed,
    set_relay_watermark,
    stream_entries,
)

pytestmark = pytest.mark.django_db
# The relay passes only rows whose transactions are over: its tests commit for real.
committing = pytest.mark.django_db(transaction=True)


def comments_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}/comments"


def cursor_key(cursor: str) -> tuple[int, int]:
    milliseconds, sequence = cursor.split("-")
    return int(milliseconds), int(sequence)


def test_publishing_one_outbox_row_twice_delivers_it_once(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    # Given a committed event whose fast path has not run yet
    with django_capture_on_commit_callbacks(execute=False):
        client_for(crew.owner).post(comments_url(crew.task), {"body": "Twice?"}, format="json")
    row = only_outbox("task.commented")
    listening = subscriber.listen(*crew.everyone)

    # When it is published twice (fast path and relay racing)
    first = publisher.outbox_messages_publish([publisher.outbox_message_of(row)])
    second = publisher.outbox_messages_publish([publisher.outbox_message_of(row, force=True)])

    # Then every recipient (every member's board, the notified ones with their notification) has
    # one stream entry and got one message
    assert (first, second) == ([True], [True])
    frames = listening.receive()
    assert_published(row, frames, to=crew.involved, board=others(crew.members, crew.involved))
    assert len(frames) == len(crew.members)
    for user in crew.members:
        assert len(stream_entries(user)) == 1
        assert redis_client().ttl(tagged_user_stream(user.pk)) > 0
    assert 0 < redis_client().ttl(outbox_done_key(str(row.event_id))) <= DEDUPE_TTL_SECONDS


@committing
def test_the_relay_never_republishes_what_the_fast_path_published(crew, client_for, subscriber):
    client_for(crew.owner).post(comments_url(crew.task), {"body": "Once"}, format="json")
    row = only_outbox("task.commented")
    # The fast path publishes from memory; moving the watermark past the row is left to the relay.
    assert not relay_passed(row)
    listening = subscriber.listen(*crew.everyone)

    assert relay_until_passed([row]) == 1
    # A crash between publishing and moving the watermark leaves the row looking unpublished.
    set_relay_watermark(before=row)
    assert relay_until_passed([row]) == 1

    assert listening.receive() == []
    for user in crew.members:
        assert len(stream_entries(user)) == 1
    assert relay_passed(row)
    assert publisher.outbox_publish_pending() == 0


def test_a_recipient_has_one_notification_per_event(crew, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).post(comments_url(crew.task), {"body": "Once"}, format="json")
    stored = Notification.objects.get(recipient=crew.reporter)

    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            recipient=crew.reporter, event_id=stored.event_id, type=stored.type, message="again", data=stored.data
        )

    assert Notification.objects.filter(recipient=crew.reporter).count() == 1


def test_events_for_one_user_are_in_the_stream_in_commit_order(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(crew.watcher)

    for actor, method, url, body in [
        (crew.assignee, "patch", f"/api/tasks/{crew.task.pk}", {"status": "in_progress"}),
        (crew.commenter, "post", comments_url(crew.task), {"body": "Nice"}),
        (crew.reporter, "patch", f"/api/tasks/{crew.task.pk}", {"priority": "low"}),
        (crew.assignee, "patch", f"/api/tasks/{crew.task.pk}", {"status": "review"}),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client_for(actor), method)(url, body, format="json")
        assert response.status_code in (200, 201)

    rows = outbox_rows()
    assert [row.type for row in rows] == [
        "task.status_changed",
        "task.commented",
        "task.updated",
        "task.status_changed",
    ]
    history = stream_entries(crew.watcher)
    assert [message["event"]["id"] for _, message in history] == [str(row.event_id) for row in rows]
    cursors = [cursor for cursor, _ in history]
    assert cursors == sorted(cursors, key=cursor_key)
    frames = listening.receive()
    assert [frame.body["cursor"] for frame in frames] == cursors


def fast_paths(callbacks: list[object]) -> list[functools.partial[None]]:
    return [
        callback
        for callback in callbacks
        if isinstance(callback, functools.partial) and callback.func is publisher.publish_after_commit
    ]


def test_an_assigned_new_task_publishes_both_its_events_in_one_callback_in_board_order(
    crew, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(crew.assignee)

    # When a task is created with an assignee (task.created and task.assigned, events_emit)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.task_create(actor=crew.owner, project=crew.project, title="Both", assignee=crew.assignee)

    # Then one fast-path callback published both, in their order, and marked both done
    (fast_path,) = fast_paths(callbacks)
    created, assigned = outbox_rows("task.created", "task.assigned")
    assert [message.event_id for message in fast_path.keywords["messages"]] == [
        str(created.event_id),
        str(assigned.event_id),
    ]
    assert assigned.board_seq == created.board_seq + 1
    assert [message["event"]["type"] for _, message in stream_entries(crew.assignee)] == [
        "task.created",
        "task.assigned",
    ]
    assert [frame.body["event"]["type"] for frame in listening.receive()] == ["task.created", "task.assigned"]
    for row in (created, assigned):
        assert redis_client().exists(outbox_done_key(str(row.event_id)))
    assert Notification.objects.filter(recipient=crew.assignee, event_id=assigned.event_id).exists()


def test_an_edit_of_several_kinds_emits_its_events_in_one_statement_and_one_callback_in_order(
    crew, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(crew.watcher)

    # When one edit changes the status and the priority
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.task_update(task=crew.task, actor=crew.owner, fields={"status": "review", "priority": "urgent"})

    # Then both events went in one statement and out in one callback, status change first
    assert sum("notifications_event_emit_traced" in query["sql"] for query in queries.captured_queries) == 1
    (fast_path,) = fast_paths(callbacks)
    changed, updated = outbox_rows()
    assert (changed.type, updated.type) == ("task.status_changed", "task.updated")
    assert updated.board_seq == changed.board_seq + 1
    assert [message.event_id for message in fast_path.keywords["messages"]] == [
        str(changed.event_id),
        str(updated.event_id),
    ]
    assert [frame.type for frame in listening.receive()] == ["task.status_changed", "task.updated"]


def test_a_rolled_back_savepoint_drops_both_events_of_a_new_task_and_their_publish(
    crew, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with contextlib.suppress(RuntimeError), transaction.atomic():
            services.task_create(actor=crew.owner, project=crew.project, title="Undone", assignee=crew.assignee)
            raise RuntimeError("rolled back")
        services.task_update(task=crew.task, actor=crew.owner, fields={"priority": "urgent"})

    (fast_path,) = fast_paths(callbacks)
    (updated,) = outbox_rows()
    assert updated.type == "task.updated"
    assert [message.event_id for message in fast_path.keywords["messages"]] == [str(updated.event_id)]
    assert not Task.objects.filter(title_en="Undone").exists()
    assert not Notification.objects.filter(type="task.assigned").exists()


def board_heard_of(crew, client_for) -> None:
    """A first event every member hears of (their streams then know the board's number)."""
    client_for(crew.owner).patch(f"/api/tasks/{crew.task.pk}", {"priority": "urgent"}, format="json")


@committing
def test_an_event_left_unpublished_holds_back_a_later_one_until_the_relay_delivers_both_in_order(
    crew, client_for, subscriber, monkeypatch
):
    board_heard_of(crew, client_for)
    (first_event,) = outbox_rows()
    listening = subscriber.listen(*crew.everyone)
    # The next commit's fast path never runs (the process died right after the commit)...
    fast_path = publisher.publish_after_commit
    monkeypatch.setattr(publisher, "publish_after_commit", lambda **kwargs: None)
    client_for(crew.assignee).patch(f"/api/tasks/{crew.task.pk}", {"status": "review"}, format="json")
    monkeypatch.setattr(publisher, "publish_after_commit", fast_path)
    assert listening.receive() == []

    # ...so the one after it may not overtake it on the board: Redis holds it back for everyone
    client_for(crew.commenter).post(comments_url(crew.task), {"body": "Later"}, format="json")
    assert listening.receive() == []
    assert len(stream_entries(crew.watcher)) == 1

    # until the relay publishes the earlier one, which releases the later one right behind it
    _, earlier, later = outbox_rows()
    assert relay_until_passed([earlier, later]) >= 2
    frames = listening.receive()
    told_earlier = [crew.reporter, crew.watcher, crew.commenter]
    told_later = [crew.reporter, crew.assignee, crew.watcher]
    assert_published(earlier, frames, to=told_earlier, board=others(crew.members, told_earlier))
    assert_published(later, frames, to=told_later, board=others(crew.members, told_later))
    watcher_frames = [frame for frame in frames if frame.user_id == crew.watcher.pk]
    assert [frame.type for frame in watcher_frames] == ["task.status_changed", "task.commented"]
    assert [message["event"]["id"] for _, message in stream_entries(crew.watcher)] == [
        str(first_event.event_id),
        str(earlier.event_id),
        str(later.event_id),
    ]
    assert (earlier.board_seq, later.board_seq) == (first_event.board_seq + 1, first_event.board_seq + 2)


@committing
def test_the_relay_delivers_in_board_order_what_a_paused_fast_path_left(crew, client_for, subscriber, monkeypatch):
    # Given a fast path standing aside after a Redis failure
    board_heard_of(crew, client_for)
    monkeypatch.setattr(publisher, "_fast_path_paused_until", float("inf"))
    listening = subscriber.listen(*crew.everyone)
    client_for(crew.assignee).patch(f"/api/tasks/{crew.task.pk}", {"status": "review"}, format="json")
    client_for(crew.commenter).post(comments_url(crew.task), {"body": "Waiting"}, format="json")
    assert listening.receive() == []
    _, earlier, later = outbox_rows()
    assert not relay_passed(earlier)
    assert not relay_passed(later)

    # When the relay runs
    relay_until_passed([earlier, later])

    # Then both events arrive, oldest first, and are marked published
    frames = listening.receive()
    told_earlier = [crew.reporter, crew.watcher, crew.commenter]
    told_later = [crew.reporter, crew.assignee, crew.watcher]
    assert_published(earlier, frames, to=told_earlier, board=others(crew.members, told_earlier))
    assert_published(later, frames, to=told_later, board=others(crew.members, told_later))
    watcher_frames = [frame for frame in frames if frame.user_id == crew.watcher.pk]
    assert [frame.body["event"]["id"] for frame in watcher_frames] == [str(earlier.event_id), str(later.event_id)]
