from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation

from accounts.models import User
from projects.models import Membership, Project, Role
from tasks.models import Comment, Task, TaskWatcher
from tests.django_core.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory, UserFactory

NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


@pytest.fixture(autouse=True)
def _english_outside_requests() -> Iterator[None]:
    """Each test starts in English: a request through the test client leaves its language active
    in the thread, which would otherwise decide which column a factory's `title=` writes."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def make_task(db: None) -> Callable[..., Task]:
    """A task through the factory; the reporter and the assignee watch it, as task_create does."""

    def make(**kwargs: Any) -> Task:
        task = TaskFactory(**kwargs)
        for person in {task.reporter, task.assignee} - {None}:
            TaskWatcher.objects.create(task=task, user=person)
        return task

    return make


@pytest.fixture
def team_task(team: dict[str, Any], make_task: Callable[..., Task]) -> Task:
    """A task of the team's project reported by its member and assigned to nobody."""
    return make_task(project=team["project"], reporter=team["member"], title="Team task")


@pytest.fixture
def db_snapshot(db: None) -> Callable[[], dict[str, list[dict[str, Any]]]]:
    """Every row the tasks endpoints can touch, to compare before and after a refused request."""

    def snapshot() -> dict[str, list[dict[str, Any]]]:
        return {
            model.__name__: list(model.objects.order_by("pk").values())
            for model in (Task, TaskWatcher, Comment, Membership, Project, User)
        }

    return snapshot


@pytest.fixture
def tenants(db: None, make_task: Callable[..., Task]) -> dict[str, dict[str, Any]]:
    """Two users, each the owner of a project the other is not in, each with a task that has a
    comment and an assignee (a second member)."""
    result: dict[str, dict[str, Any]] = {}
    for name in ("alice", "bob"):
        owner = UserFactory(name=name.title())
        project = ProjectFactory(name=f"{name}'s project")
        MembershipFactory(project=project, user=owner, role=Role.OWNER)
        helper = UserFactory(name=f"{name.title()}'s helper")
        MembershipFactory(project=project, user=helper, role=Role.MEMBER)
        task = make_task(project=project, reporter=owner, assignee=helper, title=f"{name}'s task")
        comment = CommentFactory(task=task, author=owner, body=f"{name}'s comment")
        result[name] = {
            "user": owner,
            "helper": helper,
            "project": project,
            "task": task,
            "comment": comment,
        }
    return result
