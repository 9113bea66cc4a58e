"""Task and comment edits in the Django admin go through the services: the assignee is checked
and the same events are emitted as for the API, with the staff user as their actor."""

import pytest
from django.urls import reverse
from notifications.models import OutboxEvent

from tasks.models import Comment, Task
from tests.django_core.factories import CommentFactory, TaskFactory


def _form(task, **changes):
    """The change form's POST as the admin page would send it."""
    data = {
        "title_en": task.title_en,
        "title_ru": task.title_ru or "",
        "title_es": task.title_es or "",
        "description_en": task.description_en or "",
        "description_ru": task.description_ru or "",
        "description_es": task.description_es or "",
        "status": task.status,
        "priority": task.priority,
        "assignee": task.assignee_id or "",
        "deadline_0": "",
        "deadline_1": "",
        # The read-only inlines still send their management forms.
        **{f"{prefix}-{key}": value for prefix in ("watcher_links", "comments") for key, value in _EMPTY_FORMSET},
    }
    data.update(changes)
    return data


_EMPTY_FORMSET = [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000")]


def _events():
    return [
        (event.type, event.envelope["actor"], event.envelope["data"]) for event in OutboxEvent.objects.order_by("id")
    ]


@pytest.fixture
def task(team):
    return TaskFactory(project=team["project"], reporter=team["member"], title_en="Rotate the keys")


def test_an_admin_assignment_and_status_change_emit_the_events(
    admin_client, admin_user, team, task, django_capture_on_commit_callbacks
):
    url = reverse("admin:tasks_task_change", args=[task.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, _form(task, assignee=team["admin"].pk, status="in_progress"))

    assert response.status_code == 302, response.context["adminform"].form.errors
    task.refresh_from_db()
    assert (task.assignee, task.status) == (team["admin"], "in_progress")
    assert task.assigned_at is not None
    staff = {"id": admin_user.pk, "name": admin_user.name}
    emitted = _events()
    assert [(kind, actor) for kind, actor, _data in emitted] == [
        ("task.assigned", staff),
        ("task.status_changed", staff),
    ]
    assert emitted[0][2]["assignee"]["id"] == team["admin"].pk
    assert (emitted[1][2]["from"], emitted[1][2]["to"]) == ("todo", "in_progress")


def test_an_admin_title_edit_emits_task_updated(admin_client, admin_user, task, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:tasks_task_change", args=[task.pk]), _form(task, title_en="Rotate every key")
        )

    assert response.status_code == 302
    [(kind, actor, data)] = _events()
    assert (kind, actor["id"], data["changes"], data["task"]["title"]) == (
        "task.updated",
        admin_user.pk,
        ["title"],
        "Rotate every key",
    )


def test_an_assignee_from_outside_the_project_is_refused(admin_client, team, task):
    response = admin_client.post(
        reverse("admin:tasks_task_change", args=[task.pk]), _form(task, assignee=team["outsider"].pk, status="done")
    )

    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors
    task.refresh_from_db()
    assert (task.assignee, task.status) == (None, "todo")
    assert not OutboxEvent.objects.exists()


def test_an_admin_added_task_is_created_by_the_service(
    admin_client, admin_user, team, django_capture_on_commit_callbacks
):
    data = _form(TaskFactory.build(project=team["project"], title_en="Ship it"), project=team["project"].pk)
    data["assignee"] = team["member"].pk

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:tasks_task_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    task = Task.objects.get(title_en="Ship it")
    assert (task.reporter, task.assignee) == (admin_user, team["member"])
    # The same events as task_create emits through the API: the card for every board, then the assignment.
    assert [(kind, actor["id"]) for kind, actor, _data in _events()] == [
        ("task.created", admin_user.pk),
        ("task.assigned", admin_user.pk),
    ]


def test_an_admin_added_task_with_an_outsider_is_refused(admin_client, team):
    data = _form(TaskFactory.build(project=team["project"], title_en="Ship it"), project=team["project"].pk)
    data["assignee"] = team["outsider"].pk

    response = admin_client.post(reverse("admin:tasks_task_add"), data)

    assert response.status_code == 200
    assert "assignee" in response.context["adminform"].form.errors
    assert not Task.objects.filter(title_en="Ship it").exists()


def test_an_admin_comment_is_added_by_the_service(
    admin_client, admin_user, team, task, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:tasks_comment_add"), {"task": task.pk, "body": "Done by staff"})

    assert response.status_code == 302
    comment = Comment.objects.get(body="Done by staff")
    assert comment.author == admin_user
    [(kind, actor, data)] = _events()
    assert (kind, actor["id"], data["comment"]["body"]) == ("task.commented", admin_user.pk, "Done by staff")


def test_the_comment_change_page_is_read_only(admin_client, task):
    comment = Comment.objects.create(task=task, author=task.reporter, body="Original")

    response = admin_client.post(reverse("admin:tasks_comment_change", args=[comment.pk]), {"body": "Edited"})

    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "Original"


def test_deleting_tasks_in_bulk_goes_through_the_service(admin_client, task, monkeypatch):
    from tasks import services

    calls = []
    real = services.task_delete
    monkeypatch.setattr(services, "task_delete", lambda **kwargs: calls.append(kwargs) or real(**kwargs))

    response = admin_client.post(
        reverse("admin:tasks_task_changelist"),
        {"action": "delete_selected", "_selected_action": [task.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Task.objects.filter(pk=task.pk).exists()
    assert [call["staff"] for call in calls] == [True]


def test_comments_cannot_be_deleted_or_edited_in_the_admin(admin_client, team):
    # (no service deletes a comment, and no event would tell anyone: staff cannot bypass that here)
    comment = CommentFactory(task=TaskFactory(project=team["project"], reporter=team["owner"]), author=team["member"])

    assert admin_client.post(f"/admin/tasks/comment/{comment.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(
        "/admin/tasks/comment/", {"action": "delete_selected", "_selected_action": [comment.pk], "post": "yes"}
    )
    assert Comment.objects.filter(pk=comment.pk).exists()
