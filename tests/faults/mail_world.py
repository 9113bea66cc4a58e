"""Run inside django-core (`manage.py shell -c`, by tests/faults/mail_stack.py): the few writes the
Celery fault tests need, through the same service functions as the API, with no gunicorn."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from mailing.dispatch import dispatch_pending
from notifications.models import OutboxEvent

from accounts.models import User
from projects.models import Role
from projects.services import membership_add, project_create
from tasks.services import task_create

RESULT = "RESULT:"


def _user(email: str, **extra: Any) -> User:
    # Not accounts.services.user_create: its verification mail would be one more message.
    return User.objects.create_user(email=email, name=email.split("@")[0], **extra)


def assigned_task(*, prefix: str, deadlines_in_minutes: tuple[int, ...] = (), dispatch: bool = True) -> None:
    """Ada creates a project and a task assigned to Bob (one task.assigned mail, to Bob), plus
    one task per entry of `deadlines_in_minutes` (negative: overdue), also Bob's; hands the
    mail to the broker when `dispatch`. Prints the ids."""
    with transaction.atomic():
        # Ada is staff: membership_add (the admin's way in) adds Bob without an invite mail.
        ada = _user(f"{prefix}-ada@example.com", is_staff=True)
        bob = _user(f"{prefix}-bob@example.com")
        project = project_create(actor=ada, name=f"Faults {prefix}")
        membership_add(project=project, actor=ada, user=bob, role=Role.MEMBER, staff=True)
        task = task_create(actor=ada, project=project, title="Send the report", assignee=bob)
    deadline_tasks = []
    for minutes in deadlines_in_minutes:
        deadline = timezone.now() + timedelta(minutes=minutes)
        deadline_tasks.append(
            task_create(actor=ada, project=project, title=f"Due {minutes} min", assignee=bob, deadline=deadline).pk
        )
    outbox = OutboxEvent.objects.get(type="task.assigned", envelope__data__task__id=task.pk)
    dispatched = dispatch_pending() if dispatch else 0
    _print(
        {
            "ada": ada.email,
            "bob": bob.email,
            "task": task.pk,
            "deadline_tasks": deadline_tasks,
            "outbox": outbox.pk,
            "event": str(outbox.event_id),
            "dispatched": dispatched,
        }
    )


def _print(result: Any) -> None:
    print(RESULT + json.dumps(result))  # the caller reads it
