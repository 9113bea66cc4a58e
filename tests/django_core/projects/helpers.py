"""Helpers shared by the projects tests (fixtures live in conftest.py)."""

from typing import Any

from projects.models import Invite, Membership, Project
from tasks.models import Comment, Task, TaskWatcher

NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
# An id no row has: the answer for it is what an outsider must get for a real id.
MISSING_ID = 2_000_000_000


def db_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row the projects API could touch, to assert that a refused request changed nothing."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Project, Membership, Invite, Task, TaskWatcher, Comment)
    }


def roles_of(project: Project) -> dict[int, str]:
    return dict(Membership.objects.filter(project=project).values_list("user_id", "role"))
