"""What task events say: the task as it is after the change, what changed, and the order of
the events one edit produces."""

from datetime import UTC, datetime

import pytest
from notifications.models import Notification

from tasks.models import Task
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import (
    assert_frame,
    envelope_of,
    only_outbox,
    outbox_rows,
    stream_entries,
)

pytestmark = pytest.mark.django_db


def task_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}"


def test_the_task_snapshot_is_the_task_after_the_change(crew, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.reporter).patch(
            task_url(crew.task),
            {"title": "Ship it now", "priority": "high", "deadline": "2030-05-01T17:00:00+02:00"},
            format="json",
        )

    assert response.status_code == 200
    row = only_outbox("task.updated")
    assert row.envelope["data"]["task"] == {
        "id": crew.task.pk,
        "title": "Ship it now",
        "status": "todo",
        "priority": "high",
        "project_id": crew.project.pk,
        "assignee_id": crew.assignee.pk,
        "deadline": "2030-05-01T15:00:00Z",
        # An edit within the column keeps the card's place.
        "rank": "a0",
    }
    assert Task.objects.get(pk=crew.task.pk).rank == "a0"
    assert envelope_of(row).data.task.deadline == datetime(2030, 5, 1, 15, tzinfo=UTC)
    assert row.envelope["data"]["changes"] == ["deadline", "priority", "title"]


def test_a_status_change_carries_from_and_to_under_their_contract_names(
    crew, client_for, django_capture_on_commit_callbacks
):
    Task.objects.filter(pk=crew.task.pk).update(status="in_progress")

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(task_url(crew.task), {"status": "done"}, format="json")

    row = only_outbox("task.status_changed")
    data = row.envelope["data"]
    assert (data["from"], data["to"], data["task"]["status"]) == ("in_progress", "done", "done")
    assert "from_" not in data
    assert Notification.objects.filter(event_id=row.event_id).first().data == data


def test_task_updated_names_a_translated_field_once_by_its_plain_name(
    crew, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(
            task_url(crew.task),
            {"title_ru": "Выпустить", "description_en": "New words", "description_ru": "Новые слова"},
            format="json",
        )

    event = envelope_of(only_outbox("task.updated"))
    assert event.data.changes == ["description", "title"]
    # Event data is language-neutral: the title in the default language.
    assert event.data.task.title == "Ship it"


def test_an_edit_that_changes_nothing_emits_nothing(crew, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.reporter).patch(
            task_url(crew.task),
            {"title": "Ship it", "status": "todo", "priority": "medium", "assignee": crew.assignee.pk},
            format="json",
        )

    assert response.status_code == 200
    assert outbox_rows() == []
    assert not Notification.objects.exists()


def test_one_edit_of_assignee_status_and_priority_emits_four_events_in_order(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    # The column the task moves to has a card already: the task goes below it.
    TaskFactory(project=crew.project, reporter=crew.reporter, status="in_progress", rank="a3")
    listening = subscriber.listen(crew.watcher)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.reporter).patch(
            task_url(crew.task),
            {"assignee": crew.bystander.pk, "status": "in_progress", "priority": "high"},
            format="json",
        )

    assert response.status_code == 200
    rows = outbox_rows()
    assert [row.type for row in rows] == ["task.assigned", "task.unassigned", "task.status_changed", "task.updated"]
    # Every event of the edit describes the task as the whole edit left it: at the end of its
    # new column.
    rank = Task.objects.get(pk=crew.task.pk).rank
    assert rank > "a3"
    after = {
        "id": crew.task.pk,
        "title": "Ship it",
        "status": "in_progress",
        "priority": "high",
        "project_id": crew.project.pk,
        "assignee_id": crew.bystander.pk,
        "deadline": None,
        "rank": rank,
    }
    assert all(row.envelope["data"]["task"] == after for row in rows)
    assert rows[2].envelope["data"]["from"] == "todo"
    assert rows[3].envelope["data"]["changes"] == ["priority"]
    # The watcher hears all four, in that order, on the channel and in the history.
    frames = listening.receive()
    assert [frame.type for frame in frames] == [row.type for row in rows]
    for frame, row in zip(frames, rows, strict=True):
        assert_frame(frame, row)
    history = stream_entries(crew.watcher)
    assert [cursor for cursor, _ in history] == [frame.body["cursor"] for frame in frames]
    assert [message["event"]["id"] for _, message in history] == [str(row.event_id) for row in rows]
