"""Lists cost a fixed number of queries, however many rows a page holds (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks.models import TaskWatcher
from tests.django_core.factories import CommentFactory, MembershipFactory, TaskFactory, UserFactory


def add_tasks(team, count):
    """Tasks with everything a list row shows: assignee, reporter, deadline, watchers, comments."""
    people = [team["member"], team["admin"], team["owner"]]
    for n in range(count):
        task = TaskFactory(
            project=team["project"],
            reporter=people[n % 3],
            assignee=people[(n + 1) % 3],
            title_ru=f"Задача {n}",
        )
        TaskWatcher.objects.bulk_create([TaskWatcher(task=task, user=person) for person in people])
        CommentFactory(task=task, author=people[n % 3])


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 50},
        {"page_size": 50, "ordering": "-priority,status,title"},
        {"page_size": 50, "search": "task", "status": "todo", "assignee": "me"},
    ],
    ids=["plain", "ordered", "filtered"],
)
def test_task_list_uses_a_constant_number_of_queries(team, client_for, params):
    client = client_for(team["admin"])
    add_tasks(team, 3)
    few, small = count_queries(client, "/api/tasks", params)

    add_tasks(team, 47)
    many, large = count_queries(client, "/api/tasks", params)

    assert len(large.json()["results"]) > len(small.json()["results"]) > 0
    assert many == few
    assert many <= 6


def test_task_list_page_of_50_returns_50_rows_in_the_same_queries_as_5(team, client_for):
    client = client_for(team["member"])
    add_tasks(team, 5)
    few, small = count_queries(client, "/api/tasks", {"page_size": 50})
    add_tasks(team, 60)
    many, large = count_queries(client, "/api/tasks", {"page_size": 50})

    assert len(small.json()["results"]) == 5
    assert len(large.json()["results"]) == 50
    assert many == few


def test_task_list_spanning_projects_uses_a_constant_number_of_queries(team, client_for):
    client = client_for(team["member"])
    TaskFactory(project=team["project"], reporter=team["owner"])
    few, _ = count_queries(client, "/api/tasks", {"page_size": 50})
    for _ in range(10):
        project = MembershipFactory(user=team["member"], role="viewer").project
        TaskFactory.create_batch(3, project=project, reporter=UserFactory())

    many, response = count_queries(client, "/api/tasks", {"page_size": 50})

    assert response.json()["count"] == 31
    assert many == few


def test_task_detail_query_count_does_not_grow_with_watchers(team, team_task, client_for):
    client = client_for(team["member"])
    few, _ = count_queries(client, f"/api/tasks/{team_task.pk}")
    TaskWatcher.objects.bulk_create([TaskWatcher(task=team_task, user=UserFactory()) for _ in range(20)])

    many, response = count_queries(client, f"/api/tasks/{team_task.pk}")

    assert len(response.json()["watchers"]) == 21
    assert many == few


def test_comment_list_query_count_does_not_grow_with_comments(team, team_task, client_for):
    client = client_for(team["member"])
    CommentFactory(task=team_task, author=team["member"])
    few, _ = count_queries(client, f"/api/tasks/{team_task.pk}/comments", {"page_size": 50})
    for _ in range(20):
        CommentFactory(task=team_task, author=UserFactory())

    many, response = count_queries(client, f"/api/tasks/{team_task.pk}/comments", {"page_size": 50})

    assert response.json()["count"] == 21
    assert many == few
