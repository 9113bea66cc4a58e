"""How many SQL queries each list and detail endpoint makes, with several rows of everything it
shows (people, watchers, comments, notifications from different users), so an N+1 added later
fails here instead of slipping by. The ceilings are today's counts: a change that needs more
queries raises one on purpose, in review.

Every authenticated request reads its user once (accounts.authentication); the counts include it."""

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from projects.models import Role
from projects.services import invite_create, project_create
from tasks.models import Task
from tasks.services import comment_create, task_create, task_watch
from tests.django_core.factories import MembershipFactory, UserFactory

PEOPLE = 4
TASKS = 6


@pytest.fixture
def workspace(db: None) -> dict[str, Any]:
    """An owner and PEOPLE teammates in a project of TASKS tasks, each assigned to a teammate,
    watched and commented on by the others (so each task has notifications, activity, watchers
    and comment authors of its own); a second project; invites waiting for the owner."""
    owner = UserFactory(telegram_chat_id=7_100_000_001)
    team = [UserFactory() for _ in range(PEOPLE)]
    project = project_create(actor=owner, name="Queries")
    for person in team:
        MembershipFactory(project=project, user=person, role=Role.MEMBER)
    tasks = []
    for number in range(TASKS):
        assignee = team[number % PEOPLE]
        task = task_create(actor=owner, project=project, title=f"Task {number}", assignee=assignee)
        for person in team:
            task_watch(task=task, user=person)
            comment_create(task=task, author=person, body=f"From {person.name}")
        tasks.append(task)
    other = project_create(actor=owner, name="Second")
    task_create(actor=owner, project=other, title="Elsewhere")
    for inviter in team[:3]:
        invited = project_create(actor=inviter, name=f"Invites from {inviter.name}")
        invite_create(project=invited, actor=inviter, email=owner.email, role=Role.MEMBER)
    return {"owner": owner, "team": team, "project": project, "tasks": tasks}


def _bot(chat_id: int) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_SERVICE_TOKEN=settings.TELEGRAM_SERVICE_TOKEN, HTTP_X_TELEGRAM_CHAT_ID=str(chat_id))
    return client


def _task(workspace: dict[str, Any]) -> Task:
    return workspace["tasks"][0]


# (path, ceiling): path formatted with the workspace's project and first task.
ENDPOINTS = [
    ("/api/users/me", 1),
    ("/api/projects", 3),
    ("/api/projects/{project}", 2),
    ("/api/projects/{project}/members", 4),
    ("/api/projects/{project}/board", 4),
    ("/api/invites", 3),
    ("/api/tasks", 3),
    ("/api/tasks?project={project}&status=todo&ordering=-priority", 3),
    ("/api/tasks/{task}", 3),
    ("/api/tasks/{task}/comments", 4),
    ("/api/tasks/{task}/activity", 4),
    ("/api/notifications", 2),
    ("/api/notifications?unread=true", 2),
    ("/api/notifications?page=2&page_size=5", 2),
    ("/api/notifications/unread-count", 2),
    ("/api/notifications/preferences", 2),
]


@pytest.mark.parametrize(("path", "ceiling"), ENDPOINTS, ids=[path for path, _ in ENDPOINTS])
@pytest.mark.parametrize("reader", ["owner", "teammate"])
def test_queries_per_request(
    workspace: dict[str, Any],
    client_for: Callable[[User], APIClient],
    django_assert_max_num_queries: Any,
    path: str,
    ceiling: int,
    reader: str,
) -> None:
    user = workspace["owner"] if reader == "owner" else workspace["team"][1]
    client = client_for(user)
    url = path.format(project=workspace["project"].pk, task=_task(workspace).pk)

    with django_assert_max_num_queries(ceiling):
        response = client.get(url)

    assert response.status_code == 200, response.content
    body = response.json()
    if "results" in body:
        assert body["results"] or (reader == "teammate" and "invites" in url), "an empty list proves nothing"


BOT_ENDPOINTS = [("/internal/telegram/chat", 1), ("/internal/telegram/tasks", 3), ("/internal/telegram/projects", 2)]


@pytest.mark.parametrize(("path", "ceiling"), BOT_ENDPOINTS, ids=[path for path, _ in BOT_ENDPOINTS])
def test_queries_per_bot_request(
    workspace: dict[str, Any], django_assert_max_num_queries: Any, path: str, ceiling: int
) -> None:
    with django_assert_max_num_queries(ceiling):
        response = _bot(workspace["owner"].telegram_chat_id).get(path)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("assign", ["teammate", "self", "nobody"])
def test_creating_a_task_answers_what_reading_it_answers_and_counts_its_queries(
    workspace: dict[str, Any],
    client_for: Callable[[User], APIClient],
    django_assert_max_num_queries: Any,
    assign: str,
) -> None:
    """POST /api/tasks builds its answer without reading the task back (its watchers are its
    reporter and assignee): the answer must be what GET answers right after."""
    owner = workspace["owner"]
    assignee = {"teammate": workspace["team"][2], "self": owner, "nobody": None}[assign]
    body = {"project": workspace["project"].pk, "title": "Counted", "assignee": assignee.pk if assignee else None}
    client = client_for(owner)

    # user, assignee, project, role; lock + assignee's role + rank (one round trip), task,
    # watchers, both events (one round trip: events_emit); without an assignee the rank alone,
    # one event. Plus SAVEPOINT and RELEASE: inside the test's transaction the service's atomic
    # block is a savepoint (in production BEGIN and COMMIT, which Django does not count).
    with django_assert_max_num_queries(10 if assignee else 9):
        created = client.post("/api/tasks", body, format="json")

    assert created.status_code == 201, created.content
    read = client.get(f"/api/tasks/{created.json()['id']}").json()
    assert created.json() == read
    assert [watcher["id"] for watcher in read["watchers"]] == sorted({owner.pk, *([assignee.pk] if assignee else [])})
