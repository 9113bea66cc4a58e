"""Fixtures for the notification tests: a task with everyone who may or may not hear of it, and
a real redis-py subscriber on users' channels (the way the realtime relay listens)."""

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from notifications import publisher
from notifications.models import Notification

from accounts.models import User
from projects.models import Role
from tasks.models import TaskWatcher
from tests.django_core.factories import CommentFactory, MembershipFactory, TaskFactory, UserFactory
from tests.django_core.notifications.helpers import Crew, Subscriber


@pytest.fixture(autouse=True)
def _fast_path_ready() -> Iterator[None]:
    """A test elsewhere that takes Redis down pauses the fast path for the whole process; every
    test here starts with it ready to publish."""
    publisher.fast_path_resume()
    yield
    publisher.fast_path_resume()


@pytest.fixture
def crew(team: dict[str, Any]) -> Crew:
    project = team["project"]
    assignee = UserFactory(name="Assignee")
    commenter = UserFactory(name="Commenter")
    for person in (assignee, commenter):
        MembershipFactory(project=project, user=person, role=Role.MEMBER)
    task = TaskFactory(project=project, reporter=team["member"], assignee=assignee, title="Ship it")
    # As task_create and task_watch leave it: reporter and assignee watch, the viewer chose to.
    for person in (team["member"], assignee, team["viewer"]):
        TaskWatcher.objects.create(task=task, user=person)
    CommentFactory(task=task, author=commenter, body="Looks good")
    # A watch row that should not exist (the outsider was never a member): the membership
    # filter, not the absence of rows, must keep outsiders out.
    TaskWatcher.objects.create(task=task, user=team["outsider"])
    return Crew(
        project=project,
        owner=team["owner"],
        bystander=team["admin"],
        reporter=team["member"],
        assignee=assignee,
        watcher=team["viewer"],
        commenter=commenter,
        outsider=team["outsider"],
        task=task,
    )


@pytest.fixture
def subscriber(db: None) -> Iterator[Subscriber]:
    subscriber = Subscriber()
    yield subscriber
    subscriber.sharded.close()


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_superuser("root@example.com", "root-password-1", name="Root")


@pytest.fixture
def staff_client(staff: User) -> Client:
    """A Django admin session of a superuser."""
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def notifications_for(db: None) -> Callable[..., list[Notification]]:
    """Stored notifications for a user, created oldest first (as events would leave them)."""

    def make(user: User, count: int, **fields: Any) -> list[Notification]:
        return [
            Notification.objects.create(
                recipient=user,
                event_id=uuid.uuid4(),
                type=fields.get("type", "task.commented"),
                message=f"Notification {n}",
                data=fields.get("data", {"n": n}),
                is_read=fields.get("is_read", False),
            )
            for n in range(count)
        ]

    return make
