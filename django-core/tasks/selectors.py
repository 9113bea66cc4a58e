"""Reads for tasks: only tasks of projects the user belongs to; others are NotFound."""

from django.db.models import Exists, OuterRef, QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from projects.selectors import member_project_ids
from tasks.models import Comment, Task, TaskWatcher


def task_list_for_user(*, user: User) -> QuerySet[Task]:
    """Tasks of the user's projects with the people inlined and `is_watching` annotated."""
    return (
        Task.objects.filter(project_id__in=member_project_ids(user))
        .select_related("assignee", "reporter")
        .annotate(is_watching=Exists(TaskWatcher.objects.filter(task=OuterRef("pk"), user=user)))
    )


def task_get_for_user(*, task_id: int, user: User) -> Task:
    task = task_list_for_user(user=user).select_related("project").filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    return task


def comment_list(*, task: Task) -> QuerySet[Comment]:
    return Comment.objects.filter(task=task).select_related("author").order_by("created_at", "id")


def task_watchers(*, task: Task) -> QuerySet[User]:
    return User.objects.filter(pk__in=TaskWatcher.objects.filter(task=task).values("user_id")).order_by("id")
