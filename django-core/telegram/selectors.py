"""Reads of the Telegram channel: the account behind a chat, a chat's open tasks and projects,
and the task a sent notification was about."""

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound

from accounts.models import User
from projects.models import Project
from projects.selectors import project_list_for_user
from tasks.models import Task, TaskStatus
from tasks.selectors import task_list_for_user
from telegram.models import DeliveryStatus, TelegramDelivery


class NotLinked(NotFound):
    default_code = "not_linked"


def chat_user(*, chat_id: int) -> User:
    """The active account linked to the chat, or NotLinked (404 `not_linked`)."""
    user = User.objects.filter(telegram_chat_id=chat_id, is_active=True).first()
    if user is None:
        raise NotLinked(_("This chat is not linked to a TaskFlow account."), "not_linked")
    return user


def open_tasks_assigned(*, user: User) -> QuerySet[Task]:
    """The user's open tasks (assigned to them, not done) in their projects, soonest deadline
    first, tasks without one last."""
    return (
        task_list_for_user(user=user)
        .filter(assignee=user)
        .exclude(status=TaskStatus.DONE)
        .select_related("project")
        .order_by(F("deadline").asc(nulls_last=True), "id")
    )


def projects_with_open_tasks(*, user: User) -> QuerySet[Project]:
    """The user's projects with `my_role` and `open_tasks` (not done), by name."""
    return (
        project_list_for_user(user=user)
        .annotate(open_tasks=Count("tasks", filter=~Q(tasks__status=TaskStatus.DONE)))
        .order_by("name", "id")
    )


def task_id_of_message(*, chat_id: int, message_id: int) -> int | None:
    """The task a notification sent to this chat as `message_id` was about, if any."""
    envelope = (
        TelegramDelivery.objects.filter(sent_chat_id=chat_id, message_id=message_id, status=DeliveryStatus.SENT)
        .values_list("envelope", flat=True)
        .first()
    )
    task = (envelope or {}).get("data", {}).get("task") if envelope else None
    return task.get("id") if isinstance(task, dict) else None
