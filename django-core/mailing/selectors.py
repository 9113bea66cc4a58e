"""Reads for emails: what goes into a user's daily digest."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from accounts.models import User
from tasks.models import Task, TaskStatus

DIGEST_SECTION_LIMIT = 50


@dataclass(frozen=True)
class Digest:
    overdue: list[Task]
    due_soon: list[Task]
    assigned: list[Task]

    def is_empty(self) -> bool:
        return not (self.overdue or self.due_soon or self.assigned)


def digest_for(*, user: User, now: datetime) -> Digest:
    """The user's open work: overdue, due within DIGEST_DUE_SOON_HOURS, and assigned to them in
    the last 24 hours (a task may be in more than one list)."""
    mine = Task.objects.filter(assignee=user).exclude(status=TaskStatus.DONE).select_related("project")
    return Digest(
        overdue=list(mine.filter(deadline__lt=now).order_by("deadline", "pk")[:DIGEST_SECTION_LIMIT]),
        due_soon=list(
            mine.filter(deadline__gte=now, deadline__lt=now + timedelta(hours=settings.DIGEST_DUE_SOON_HOURS)).order_by(
                "deadline", "pk"
            )[:DIGEST_SECTION_LIMIT]
        ),
        assigned=list(mine.filter(assigned_at__gte=now - timedelta(hours=24)).order_by("-assigned_at", "-pk")[:50]),
    )
