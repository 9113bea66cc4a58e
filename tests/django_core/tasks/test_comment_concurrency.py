"""A comment edited and deleted at the same time, each in its own thread and transaction (a hook
pauses one side half-way so the interleaving is fixed): neither fails with a deadlock or a 500,
and the history entry ends as the last write left it."""

import threading
from typing import Any

import pytest
from django.db import transaction
from rest_framework import exceptions

from tasks import services
from tasks.models import Comment, TaskActivity
from tests.django_core.tasks.test_concurrency import PAUSE, in_thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def comment(team, make_task) -> Comment:
    task = make_task(project=team["project"], reporter=team["member"])
    with transaction.atomic():  # through the service, so the history has the comment's entry
        return services.comment_create(task=task, author=team["member"], body="First draft")


def entry_body(comment: Comment) -> str:
    entry = TaskActivity.objects.get(task_id=comment.task_id, type="task.commented", data__comment__id=comment.pk)
    return entry.data["comment"]["body"]


def test_a_delete_while_the_author_edits_waits_for_the_edit_and_does_not_deadlock(team, comment, monkeypatch):
    # given the author's edit holds the comment and is paused before it rewrites the history
    locked, resume = threading.Event(), threading.Event()
    original = services._comment_activity_rewrite

    def pause_in_the_edit(**kwargs: Any) -> None:
        if kwargs["body"]:  # the edit's new text; a delete empties it
            locked.set()
            resume.wait(PAUSE)
        original(**kwargs)

    monkeypatch.setattr(services, "_comment_activity_rewrite", pause_in_the_edit)
    editing: dict[str, Any] = {}
    deleting: dict[str, Any] = {}
    looked_up = Comment.objects.select_related("task__project").get(pk=comment.pk)
    edit = in_thread(lambda: services.comment_update(comment=looked_up, actor=team["member"], body="Edited"), editing)
    assert locked.wait(5)

    # when an admin deletes the comment meanwhile
    delete = in_thread(
        lambda: services.comment_delete(
            comment=Comment.objects.select_related("task__project").get(pk=comment.pk), actor=team["admin"]
        ),
        deleting,
    )
    delete.join(PAUSE / 2)
    resume.set()
    edit.join(10)
    delete.join(10)

    # then both went through, one after the other: the edit, then the delete
    assert "error" not in editing, editing
    assert "error" not in deleting, deleting
    assert not Comment.objects.filter(pk=comment.pk).exists()
    assert entry_body(comment) == ""


def test_an_edit_of_a_comment_deleted_since_it_was_looked_up_is_not_found(team, comment):
    looked_up = Comment.objects.select_related("task__project").get(pk=comment.pk)
    Comment.objects.filter(pk=comment.pk).delete()

    with pytest.raises(exceptions.NotFound):
        services.comment_update(comment=looked_up, actor=team["member"], body="Too late")


def test_a_delete_of_a_comment_deleted_since_it_was_looked_up_is_not_found(team, comment):
    looked_up = Comment.objects.select_related("task__project").get(pk=comment.pk)
    Comment.objects.filter(pk=comment.pk).delete()

    with pytest.raises(exceptions.NotFound):
        services.comment_delete(comment=looked_up, actor=team["member"])
