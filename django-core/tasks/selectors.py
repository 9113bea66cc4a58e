"""Reads for tasks: only tasks of projects the user belongs to; others are NotFound."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, QuerySet
from modeltranslation.utils import get_language, resolution_order
from rest_framework.exceptions import NotFound

from accounts.models import User
from projects.selectors import member_project_ids
from tasks.models import Comment, Task, TaskActivity, TaskStatus, TaskWatcher

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


def comment_get_for_user(*, task_id: int, comment_id: int, user: User) -> Comment:
    """A comment of a task of the user's projects: NotFound for a comment of another task (even
    one the user sees) as for a task the user does not see. Loaded with its task's project (the
    services check the role there) and its author."""
    task = task_get_for_user(task_id=task_id, user=user)
    comment = Comment.objects.select_related("author").filter(pk=comment_id, task=task).first()
    if comment is None:
        raise NotFound()
    comment.task = task
    return comment


def task_activity_list(*, task: Task) -> QuerySet[TaskActivity]:
    """The task's history, newest first (the order of the index tasks_activity_task_new)."""
    return TaskActivity.objects.filter(task=task).order_by("-occurred_at", "-id")


def task_watchers(*, task: Task) -> QuerySet[User]:
    return User.objects.filter(pk__in=TaskWatcher.objects.filter(task=task).values("user_id")).order_by("id")


# --- The board -----------------------------------------------------------------------------------

# A column shows at most this many cards (the top ones, by rank); `count` says how many it holds.
BOARD_COLUMN_LIMIT = 500


@dataclass(frozen=True, slots=True)
class BoardColumn:
    status: str
    count: int
    cards: list[dict[str, Any]]


def board_columns(*, project_id: int) -> list[BoardColumn]:
    """The project's columns in workflow order, each its cards in rank order (then id) with the
    title in the request language (falling back as modeltranslation does). One query: a window
    numbers each column's cards and counts them. Precondition: the caller checked membership."""
    languages = [lang for lang in resolution_order(get_language()) if lang in settings.MODELTRANSLATION_LANGUAGES]
    titles = ", ".join(connection.ops.quote_name(f"title_{lang}") for lang in languages)
    sql = f"""
        SELECT id, status, priority, rank, assignee_id, deadline, total, {titles}
        FROM (
            SELECT id, status, priority, rank, assignee_id, deadline, {titles},
                row_number() OVER (PARTITION BY status ORDER BY rank, id) AS place,
                count(*) OVER (PARTITION BY status) AS total
            FROM tasks_task WHERE project_id = %s
        ) AS column_cards
        WHERE place <= %s
        ORDER BY status, rank, id
    """  # noqa: S608 (column names from the settings, quoted; values bound)
    columns: dict[str, BoardColumn] = {status: BoardColumn(status, 0, []) for status in TaskStatus.values}
    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, BOARD_COLUMN_LIMIT])
        for task_id, status, priority, rank, assignee_id, deadline, total, *localized in cursor.fetchall():
            column = columns[status]
            if not column.cards:
                columns[status] = column = BoardColumn(status, total, [])
            column.cards.append(
                {
                    "id": task_id,
                    "title": next((title for title in localized if title), ""),
                    "status": status,
                    "priority": priority,
                    "rank": rank,
                    "assignee_id": assignee_id,
                    "deadline": deadline,
                }
            )
    return list(columns.values())
