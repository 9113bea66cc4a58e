# ruff: noqa: RUF001 (Russian text, not look-alike letters)
"""GET /api/tasks/{id}/activity: the task's history, newest first, each entry with a sentence in
the request language; any member of the project reads it, viewers included."""

import pytest

from tasks.models import Task, TaskActivity
from tests.django_core.factories import MembershipFactory, UserFactory
from tests.django_core.tasks.conftest import NOT_FOUND


def activity_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}/activity"


@pytest.fixture
def history(team, client_for, django_capture_on_commit_callbacks) -> Task:
    """A task with one history entry of each kind, made through the API by different people:
    created and assigned (member), moved to in progress (admin), retitled and reprioritized
    (member), commented (owner), unassigned (member)."""
    member, admin, owner = (client_for(team[role]) for role in ("member", "admin", "owner"))
    with django_capture_on_commit_callbacks(execute=True):
        created = member.post(
            "/api/tasks", {"project": team["project"].pk, "title": "Draft", "assignee": team["admin"].pk}, format="json"
        )
        task_id = created.json()["id"]
        url = f"/api/tasks/{task_id}"
        assert admin.patch(url, {"status": "in_progress"}, format="json").status_code == 200
        assert member.patch(url, {"title": "Launch", "priority": "urgent"}, format="json").status_code == 200
        assert owner.post(f"{url}/comments", {"body": "Go"}, format="json").status_code == 201
        assert member.patch(url, {"assignee": None}, format="json").status_code == 200
    return Task.objects.get(pk=task_id)


def entries(response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.json()
    return [(entry["type"], entry["message"]) for entry in response.json()["results"]]


def test_the_history_is_newest_first_in_words(team, history, client_for):
    response = client_for(team["member"]).get(activity_url(history))

    assert entries(response) == [
        ("task.unassigned", "Member unassigned Admin"),
        ("task.commented", "Owner commented"),
        ("task.updated", "Member changed the priority and title"),
        ("task.status_changed", "Admin changed the status from To do to In progress"),
        ("task.assigned", "Member assigned Admin"),
        ("task.created", "Member created the task"),
    ]


def test_an_entry_has_its_actor_time_and_event_data(team, history, client_for):
    body = client_for(team["member"]).get(activity_url(history)).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    newest = body["results"][0]
    assert set(newest) == {"id", "type", "actor", "occurred_at", "data", "message"}
    assert newest["actor"] == {"id": team["member"].pk, "name": "Member"}
    assert newest["data"]["previous_assignee"] == {"id": team["admin"].pk, "name": "Admin"}
    assert newest["data"]["task"]["id"] == history.pk
    times = [entry["occurred_at"] for entry in body["results"]]
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "ru",
            [
                "Member снимает исполнителя Admin",
                "Owner оставляет комментарий",
                "Member меняет приоритет и заголовок",
                "Admin меняет статус с «К выполнению» на «В работе»",
                "Member назначает исполнителя: Admin",
                "Member создаёт задачу",
            ],
        ),
        (
            "es",
            [
                "Member ha quitado la tarea a Admin",
                "Owner ha comentado",
                "Member ha cambiado: prioridad y título",
                "Admin ha cambiado el estado de Por hacer a En curso",
                "Member ha asignado la tarea a Admin",
                "Member ha creado la tarea",
            ],
        ),
    ],
)
def test_the_messages_follow_accept_language(team, history, client_for, language, expected):
    response = client_for(team["member"]).get(activity_url(history), HTTP_ACCEPT_LANGUAGE=language)

    assert [message for _type, message in entries(response)] == expected
    assert response["Content-Language"] == language


def test_without_accept_language_the_readers_own_language_is_used(team, history, client_for):
    team["viewer"].language = "es"
    team["viewer"].save(update_fields=["language"])

    response = client_for(team["viewer"]).get(activity_url(history))

    assert entries(response)[-1] == ("task.created", "Member ha creado la tarea")


def test_taking_and_dropping_a_task_oneself_reads_so(team, client_for, django_capture_on_commit_callbacks):
    member = client_for(team["member"])
    with django_capture_on_commit_callbacks(execute=True):
        task_id = member.post("/api/tasks", {"project": team["project"].pk, "title": "Mine"}, format="json").json()[
            "id"
        ]
        member.patch(f"/api/tasks/{task_id}", {"assignee": team["member"].pk}, format="json")
        member.patch(f"/api/tasks/{task_id}", {"assignee": None}, format="json")

    response = member.get(f"/api/tasks/{task_id}/activity")
    russian = member.get(f"/api/tasks/{task_id}/activity", HTTP_ACCEPT_LANGUAGE="ru")

    assert [message for _type, message in entries(response)][:2] == [
        "Member unassigned themselves",
        "Member assigned themselves",
    ]
    assert [message for _type, message in entries(russian)][:2] == [
        "Member снимает себя с задачи",
        "Member берёт задачу на себя",
    ]


def test_a_move_within_the_column_is_not_history(team, history, client_for, make_task):
    above = make_task(project=team["project"], reporter=team["owner"], status=history.status)

    response = client_for(team["member"]).post(f"/api/tasks/{history.pk}/move", {"after": above.pk}, format="json")

    assert response.status_code == 200
    assert TaskActivity.objects.filter(task=history).count() == 6


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_every_member_reads_the_history_viewers_included(team, history, client_for, role):
    response = client_for(team[role]).get(activity_url(history))

    assert len(entries(response)) == 6


def test_an_outsider_gets_404(team, history, client_for):
    response = client_for(team["outsider"]).get(activity_url(history))

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_a_missing_task_is_404(team, client_for):
    response = client_for(team["member"]).get("/api/tasks/999999999/activity")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_the_history_needs_a_login(history, api_client):
    assert api_client.get(activity_url(history)).status_code == 401


def test_the_history_is_paginated(team, history, client_for):
    body = client_for(team["member"]).get(activity_url(history) + "/", {"page_size": 4, "page": 2}).json()

    assert body["count"] == 6
    assert [entry["type"] for entry in body["results"]] == ["task.assigned", "task.created"]
    assert body["next"] is None


def test_a_task_made_outside_the_api_has_no_history_yet(team, team_task, client_for):
    body = client_for(team["member"]).get(activity_url(team_task)).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_an_entry_outlives_its_actors_account_and_keeps_their_name(
    team, client_for, django_capture_on_commit_callbacks
):
    leaver = UserFactory(name="Former colleague")
    MembershipFactory(project=team["project"], user=leaver, role="member")
    with django_capture_on_commit_callbacks(execute=True):
        task_id = (
            client_for(leaver)
            .post("/api/tasks", {"project": team["project"].pk, "title": "Left behind"}, format="json")
            .json()["id"]
        )
    leaver.delete()

    body = client_for(team["member"]).get(f"/api/tasks/{task_id}/activity").json()

    assert [(entry["actor"], entry["message"]) for entry in body["results"]] == [
        (None, "Former colleague created the task")
    ]


def test_the_history_costs_the_same_few_queries_however_long_it_is(
    team, history, client_for, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    # the user (token), the task (membership), the count, the page: never one per entry
    client = client_for(team["member"])
    with django_assert_max_num_queries(4):
        short = client.get(activity_url(history), {"page_size": 100})
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(30):
            client.post(f"/api/tasks/{history.pk}/comments", {"body": f"#{n}"}, format="json")

    with django_assert_max_num_queries(4):
        long = client.get(activity_url(history), {"page_size": 100})

    assert len(short.json()["results"]) == 6
    assert len(long.json()["results"]) == 36
