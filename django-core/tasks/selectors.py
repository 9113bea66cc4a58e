"""Reads for tasks: only tasks of projects the user belongs to; others are NotFound."""

from django.db.models import Exists, F, OuterRef, QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from projects.selectors import member_project_ids
from tasks.models import Comment, Task, TaskWatcher

# A list shows only the name and email of the assignee and reporter: they come as columns of the
# task row rather than as two more model instances per row (half the list's CPU went to building
# model instances; bench/django_api.py). tasks.serializers reads either form.
_PERSON_COLUMNS = {
    f"{person}_{column}": F(f"{person}__{column}")
    for person in ("assignee", "reporter")
    for column in ("name", "email")
}


def _visible_tasks(user: User) -> QuerySet[Task]:
    return Task.objects.filter(project_id__in=member_project_ids(user)).annotate(
        is_watching=Exists(TaskWatcher.objects.filter(task=OuterRef("pk"), user=user))
    )


def task_list_for_user(*, user: User) -> QuerySet[Task]:
    """Tasks of the user's projects with the people inlined and `is_watching` annotated."""
    return _visible_tasks(user).annotate(**_PERSON_COLUMNS)


def task_get_for_user(*, task_id: int, user: User) -> Task:
    """One task of the user's projects, fully loaded (services use its project and people)."""
    task = _visible_tasks(user).select_related("project", "assignee", "reporter").filter(pk=task_id).first()
    if task is None:
        raise NotFound()
    return task


def comment_list(*, task: Task) -> QuerySet[Comment]:
    return Comment.objects.filter(task=task).select_related("author").order_by("created_at", "id")


def task_watchers(*, task: Task) -> QuerySet[User]:
    return User.objects.filter(pk__in=TaskWatcher.objects.filter(task=task).values("user_id")).order_by("id")
