from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tasks.models import Comment, Task, TaskPriority, TaskStatus, TaskWatcher
from tests.django_core.factories import CommentFactory, MembershipFactory, TaskFactory, UserFactory
from tests.django_core.tasks.conftest import NOT_FOUND

ASSIGNEE_ERROR = {"assignee": ["The assignee must be a member (not a viewer) of the task's project."]}


def watcher_ids(task):
    return set(TaskWatcher.objects.filter(task=task).values_list("user_id", flat=True))


# --- POST /api/tasks ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_create_task_makes_me_the_reporter_and_a_watcher(team, client_for, role):
    me = team[role]

    response = client_for(me).post("/api/tasks", {"project": team["project"].pk, "title": "Write docs"}, format="json")

    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get(pk=body["id"])
    assert task.project == team["project"]
    assert task.reporter == me
    assert task.title_en == "Write docs"
    assert body["reporter"] == {"id": me.pk, "name": me.name, "email": me.email}
    assert body["project"] == team["project"].pk
    assert body["is_watching"] is True
    assert body["watchers"] == [{"id": me.pk, "name": me.name, "email": me.email}]
    assert watcher_ids(task) == {me.pk}


def test_create_task_has_defaults(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": "Plain"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "todo"
    assert body["priority"] == "medium"
    assert body["assignee"] is None
    assert body["deadline"] is None
    assert body["completed_at"] is None
    assert body["description"] == ""


def test_create_task_with_every_field(team, client_for):
    assignee = team["admin"]

    response = client_for(team["member"]).post(
        "/api/tasks",
        {
            "project": team["project"].pk,
            "title": "Ship it",
            "description": "Before Friday",
            "status": "in_progress",
            "priority": "urgent",
            "assignee": assignee.pk,
            "deadline": "2030-12-01T17:00:00+01:00",
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    task = Task.objects.get(pk=body["id"])
    assert (task.title, task.description) == ("Ship it", "Before Friday")
    assert task.status == TaskStatus.IN_PROGRESS
    assert task.priority == TaskPriority.URGENT
    assert task.assignee == assignee
    assert task.deadline == datetime(2030, 12, 1, 16, 0, tzinfo=UTC)
    assert body["assignee"]["id"] == assignee.pk
    # Reporter and assignee both watch the new task.
    assert watcher_ids(task) == {team["member"].pk, assignee.pk}
    assert [w["id"] for w in body["watchers"]] == sorted([team["member"].pk, assignee.pk])


def test_create_task_assigned_to_myself_watches_once(team, client_for):
    me = team["member"]

    response = client_for(me).post(
        "/api/tasks", {"project": team["project"].pk, "title": "Mine", "assignee": me.pk}, format="json"
    )

    assert response.status_code == 201
    assert TaskWatcher.objects.filter(task_id=response.json()["id"]).count() == 1


def test_create_task_done_sets_completed_at(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": "Already done", "status": "done"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["completed_at"] is not None
    assert Task.objects.get(pk=response.json()["id"]).completed_at is not None


def test_viewer_cannot_create_a_task(team, client_for):
    response = client_for(team["viewer"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": "Nope"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert not Task.objects.exists()


def test_create_in_a_project_i_am_not_in_is_400_like_a_missing_project(team, client_for):
    client = client_for(team["outsider"])

    foreign = client.post("/api/tasks", {"project": team["project"].pk, "title": "Sneaky"}, format="json")
    missing = client.post("/api/tasks", {"project": 999_999_999, "title": "Sneaky"}, format="json")

    assert foreign.status_code == missing.status_code == 400
    assert list(foreign.json()) == ["project"]
    assert foreign.json() == missing.json()
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": {"en": "x"}}, "title"),
        ({"title": "a\x00b"}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"status": "bogus"}, "status"),
        ({"status": "DONE"}, "status"),
        ({"priority": "critical"}, "priority"),
        ({"project": None}, "project"),
        ({"project": "abc"}, "project"),
        ({"project": 0}, "project"),
        ({"project": -1}, "project"),
        ({"project": 2**63}, "project"),
        ({"assignee": "abc"}, "assignee"),
        ({"assignee": 0}, "assignee"),
        ({"assignee": 2**63}, "assignee"),
        ({"deadline": "2030-12-01T17:00:00"}, "deadline"),
        ({"deadline": "2030-12-01"}, "deadline"),
        ({"deadline": "notadate"}, "deadline"),
        ({"deadline": 12345}, "deadline"),
        ({"deadline": "9999-12-31T23:59:59-01:00"}, "deadline"),
        ({"deadline": "0001-01-01T00:00:00+01:00"}, "deadline"),
        ({"deadline": "2030-06-15T12:00:00+25:00"}, "deadline"),
    ],
)
def test_create_rejects_bad_fields_naming_them(team, client_for, change, field):
    body = {"project": team["project"].pk, "title": "Valid", **change}

    response = client_for(team["member"]).post("/api/tasks", body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Task.objects.exists()


def test_create_without_title_in_any_language_is_400(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title_en": "", "title_ru": ""}, format="json"
    )

    assert response.status_code == 400
    assert "title" in response.json()


def test_create_without_project_is_400(team, client_for):
    response = client_for(team["member"]).post("/api/tasks", {"title": "Orphan"}, format="json")

    assert response.status_code == 400
    assert "project" in response.json()


@pytest.mark.parametrize("payload", [[1, 2], "title", 42])
def test_create_with_a_body_that_is_not_an_object_is_400(team, client_for, payload):
    response = client_for(team["member"]).post("/api/tasks", payload, format="json")

    assert response.status_code == 400
    assert not Task.objects.exists()


def test_create_with_malformed_json_is_a_json_400(team, client_for):
    response = client_for(team["member"]).post("/api/tasks", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_create_accepts_an_assignee_with_member_role_or_higher(team, client_for, role):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": "T", "assignee": team[role].pk}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["assignee"]["id"] == team[role].pk


@pytest.mark.parametrize("who", ["viewer", "outsider", "unknown", "inactive_member"])
def test_create_refuses_an_assignee_who_cannot_work_on_it_with_one_message(team, client_for, who):
    if who == "unknown":
        assignee_id = 999_999_999
    elif who == "inactive_member":
        inactive = UserFactory(is_active=False)
        MembershipFactory(project=team["project"], user=inactive, role="member")
        assignee_id = inactive.pk
    else:
        assignee_id = team[who].pk

    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": "T", "assignee": assignee_id}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == ASSIGNEE_ERROR
    assert not Task.objects.exists()


def test_create_with_null_assignee_and_deadline(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {"project": team["project"].pk, "title": "T", "assignee": None, "deadline": None},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["assignee"] is None
    assert response.json()["deadline"] is None


def test_create_ignores_read_only_fields(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {
            "project": team["project"].pk,
            "title": "T",
            "reporter": team["owner"].pk,
            "completed_at": "2020-01-01T00:00:00Z",
            "id": 424242,
        },
        format="json",
    )

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.pk != 424242
    assert task.reporter == team["member"]
    assert task.completed_at is None


def test_create_accepts_a_trailing_slash(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks/", {"project": team["project"].pk, "title": "Slash"}, format="json"
    )

    assert response.status_code == 201


# --- GET /api/tasks/{id} -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_every_member_reads_a_task(team, team_task, client_for, role):
    response = client_for(team[role]).get(f"/api/tasks/{team_task.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == team_task.pk
    assert body["title"] == "Team task"
    assert body["project"] == team["project"].pk
    assert body["reporter"]["id"] == team["member"].pk
    assert body["watchers"] == [{"id": team["member"].pk, "name": team["member"].name, "email": team["member"].email}]
    assert body["is_watching"] is (role == "member")


def test_task_detail_has_the_documented_fields(team, team_task, client_for):
    body = client_for(team["member"]).get(f"/api/tasks/{team_task.pk}/").json()

    assert set(body) == {
        "id",
        "project",
        "title",
        "description",
        "title_en",
        "title_ru",
        "title_es",
        "description_en",
        "description_ru",
        "description_es",
        "status",
        "priority",
        "assignee",
        "reporter",
        "deadline",
        "rank",
        "is_watching",
        "created_at",
        "updated_at",
        "completed_at",
        "watchers",
    }


@pytest.mark.parametrize("task_id", [999_999_999, 2**63, 10**30])
def test_a_missing_task_is_a_json_404(team, client_for, task_id):
    response = client_for(team["member"]).get(f"/api/tasks/{task_id}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "path"), [("put", "/api/tasks/{id}"), ("post", "/api/tasks/{id}"), ("delete", "/api/tasks")]
)
def test_unsupported_methods_are_405_for_members_and_outsiders_alike(team, team_task, client_for, method, path):
    url = path.format(id=team_task.pk)

    for_member = getattr(client_for(team["member"]), method)(url, {}, format="json")
    for_outsider = getattr(client_for(team["outsider"]), method)(url, {}, format="json")

    assert for_member.status_code == for_outsider.status_code == 405
    assert for_member.json()["code"] == "method_not_allowed"


def test_unauthenticated_requests_are_401(team_task, api_client):
    response = api_client.get(f"/api/tasks/{team_task.pk}")

    assert response.status_code == 401
    assert "detail" in response.json()


# --- PATCH /api/tasks/{id} ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "column", "expected"),
    [
        ({"title": "Renamed"}, "title_en", "Renamed"),
        ({"description": "More words"}, "description_en", "More words"),
        ({"description": ""}, "description_en", ""),
        ({"status": "review"}, "status", "review"),
        ({"priority": "low"}, "priority", "low"),
        ({"deadline": "2031-01-02T03:04:05Z"}, "deadline", datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ({"deadline": "2031-01-02T03:04:05-05:00"}, "deadline", datetime(2031, 1, 2, 8, 4, 5, tzinfo=UTC)),
        ({"title_en": "English"}, "title_en", "English"),
        ({"title_ru": "Русский"}, "title_ru", "Русский"),
        ({"description_en": "EN text"}, "description_en", "EN text"),
        ({"description_ru": "Текст"}, "description_ru", "Текст"),
    ],
)
@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_member_or_higher_patches_a_field(team, team_task, client_for, role, change, column, expected):
    response = client_for(team[role]).patch(f"/api/tasks/{team_task.pk}", change, format="json")

    assert response.status_code == 200, response.json()
    team_task.refresh_from_db()
    assert getattr(team_task, column) == expected
    assert response.json()["id"] == team_task.pk


def test_patch_returns_the_full_task(team, team_task, client_for):
    response = client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}/", {"priority": "high"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["priority"] == "high"
    assert body["title"] == "Team task"
    assert body["is_watching"] is True
    assert [w["id"] for w in body["watchers"]] == [team["member"].pk]


def test_patch_bumps_updated_at(team, team_task, client_for):
    before = team_task.updated_at

    client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}", {"priority": "high"}, format="json")

    team_task.refresh_from_db()
    assert team_task.updated_at > before


def test_patch_with_an_empty_body_changes_nothing_visible(team, team_task, client_for):
    response = client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}", {}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Team task"


def test_patch_clears_the_deadline_with_null(team, make_task, client_for):
    task = make_task(project=team["project"], reporter=team["member"], deadline=timezone.now())

    response = client_for(team["member"]).patch(f"/api/tasks/{task.pk}", {"deadline": None}, format="json")

    assert response.status_code == 200
    assert response.json()["deadline"] is None
    task.refresh_from_db()
    assert task.deadline is None


def test_status_done_sets_completed_at_and_leaving_done_clears_it(team, team_task, client_for):
    client = client_for(team["member"])
    url = f"/api/tasks/{team_task.pk}"

    done = client.patch(url, {"status": "done"}, format="json")
    team_task.refresh_from_db()
    completed_at = team_task.completed_at

    assert done.status_code == 200
    assert completed_at is not None
    assert done.json()["completed_at"] is not None

    # Saving "done" again (or editing something else) keeps the original completion time.
    client.patch(url, {"status": "done", "priority": "high"}, format="json")
    team_task.refresh_from_db()
    assert team_task.completed_at == completed_at

    reopened = client.patch(url, {"status": "review"}, format="json")
    team_task.refresh_from_db()

    assert reopened.status_code == 200
    assert reopened.json()["completed_at"] is None
    assert team_task.completed_at is None


def test_patch_assigns_a_member_who_then_watches(team, team_task, client_for):
    response = client_for(team["member"]).patch(
        f"/api/tasks/{team_task.pk}", {"assignee": team["admin"].pk}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == team["admin"].pk
    team_task.refresh_from_db()
    assert team_task.assignee == team["admin"]
    assert watcher_ids(team_task) == {team["member"].pk, team["admin"].pk}


def test_patch_unassigns_with_null(team, make_task, client_for):
    task = make_task(project=team["project"], reporter=team["member"], assignee=team["admin"])

    response = client_for(team["member"]).patch(f"/api/tasks/{task.pk}", {"assignee": None}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"] is None
    task.refresh_from_db()
    assert task.assignee is None


@pytest.mark.parametrize("who", ["viewer", "outsider", "unknown", "inactive_member"])
def test_patch_refuses_an_assignee_who_cannot_work_on_it(team, team_task, client_for, db_snapshot, who):
    if who == "unknown":
        assignee_id = 999_999_999
    elif who == "inactive_member":
        inactive = UserFactory(is_active=False)
        MembershipFactory(project=team["project"], user=inactive, role="member")
        assignee_id = inactive.pk
    else:
        assignee_id = team[who].pk
    before = db_snapshot()

    response = client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}", {"assignee": assignee_id}, format="json")

    assert response.status_code == 400
    assert response.json() == ASSIGNEE_ERROR
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "  "}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"status": "bogus"}, "status"),
        ({"priority": "bogus"}, "priority"),
        ({"deadline": "2031-01-02T03:04:05"}, "deadline"),
        ({"deadline": "soon"}, "deadline"),
        ({"assignee": "me"}, "assignee"),
        ({"assignee": -5}, "assignee"),
        ({"title_en": "x" * 301}, "title_en"),
        ({"description": "x" * 20_001}, "description"),
    ],
)
def test_patch_rejects_bad_fields_naming_them(team, team_task, client_for, db_snapshot, change, field):
    before = db_snapshot()

    response = client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}", change, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert db_snapshot() == before


def test_patch_cannot_remove_the_last_title(team, team_task, client_for, db_snapshot):
    # The task only has an English title: blanking it would leave a task without any title.
    before = db_snapshot()

    response = client_for(team["member"]).patch(f"/api/tasks/{team_task.pk}", {"title_en": ""}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["title"]
    assert db_snapshot() == before


def test_patch_may_blank_one_language_while_another_remains(team, make_task, client_for):
    task = make_task(project=team["project"], reporter=team["member"], title_en="Fix", title_ru="Починить")

    response = client_for(team["member"]).patch(f"/api/tasks/{task.pk}", {"title_ru": ""}, format="json")

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.title_ru == ""
    assert task.title_en == "Fix"


def test_patch_cannot_move_a_task_or_change_its_reporter(team, team_task, client_for):
    other_project = team["other_project"]
    MembershipFactory(project=other_project, user=team["member"], role="admin")

    response = client_for(team["member"]).patch(
        f"/api/tasks/{team_task.pk}",
        {"project": other_project.pk, "reporter": team["owner"].pk, "completed_at": "2020-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == 200
    team_task.refresh_from_db()
    assert team_task.project == team["project"]
    assert team_task.reporter == team["member"]
    assert team_task.completed_at is None


def test_viewer_cannot_patch(team, team_task, client_for, db_snapshot):
    before = db_snapshot()

    response = client_for(team["viewer"]).patch(f"/api/tasks/{team_task.pk}", {"title": "Mine now"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


# --- DELETE /api/tasks/{id} --------------------------------------------------------------------


def test_reporter_deletes_their_task_with_its_comments_and_watchers(team, team_task, client_for):
    CommentFactory(task=team_task, author=team["member"])

    response = client_for(team["member"]).delete(f"/api/tasks/{team_task.pk}")

    assert response.status_code == 204
    assert not Task.objects.filter(pk=team_task.pk).exists()
    assert not Comment.objects.filter(task_id=team_task.pk).exists()
    assert not TaskWatcher.objects.filter(task_id=team_task.pk).exists()


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admin_or_owner_deletes_any_task(team, team_task, client_for, role):
    response = client_for(team[role]).delete(f"/api/tasks/{team_task.pk}/")

    assert response.status_code == 204
    assert not Task.objects.filter(pk=team_task.pk).exists()


def test_a_member_who_is_not_the_reporter_cannot_delete(team, make_task, client_for, db_snapshot):
    task = make_task(project=team["project"], reporter=team["admin"], assignee=team["member"])
    before = db_snapshot()

    response = client_for(team["member"]).delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


def test_a_reporter_demoted_to_viewer_cannot_delete(team, make_task, client_for, db_snapshot):
    task = make_task(project=team["project"], reporter=team["viewer"])
    before = db_snapshot()

    response = client_for(team["viewer"]).delete(f"/api/tasks/{task.pk}")

    assert response.status_code == 403
    assert db_snapshot() == before


def test_deleting_a_missing_task_is_404(team, client_for):
    response = client_for(team["owner"]).delete("/api/tasks/999999999")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- GET /api/tasks ----------------------------------------------------------------------------


def test_list_has_only_tasks_of_my_projects(team, make_task, client_for):
    mine = make_task(project=team["project"], reporter=team["member"])
    theirs = make_task(project=team["other_project"], reporter=team["outsider"])
    unrelated = TaskFactory()

    member_ids = [t["id"] for t in client_for(team["viewer"]).get("/api/tasks").json()["results"]]
    outsider_ids = [t["id"] for t in client_for(team["outsider"]).get("/api/tasks").json()["results"]]

    assert member_ids == [mine.pk]
    assert outsider_ids == [theirs.pk]
    assert unrelated.pk not in member_ids + outsider_ids


def test_list_spans_all_my_projects(team, make_task, client_for):
    MembershipFactory(project=team["other_project"], user=team["member"], role="viewer")
    here = make_task(project=team["project"], reporter=team["member"])
    there = make_task(project=team["other_project"], reporter=team["outsider"])

    body = client_for(team["member"]).get("/api/tasks").json()

    assert {t["id"] for t in body["results"]} == {here.pk, there.pk}


def test_list_is_paginated_newest_first(team, make_task, client_for):
    tasks = [make_task(project=team["project"], reporter=team["member"]) for _ in range(3)]

    response = client_for(team["member"]).get("/api/tasks")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["next"] is None
    assert body["previous"] is None
    assert [t["id"] for t in body["results"]] == [t.pk for t in reversed(tasks)]
    assert "watchers" not in body["results"][0]
    assert body["results"][0]["reporter"]["id"] == team["member"].pk


def test_list_of_nothing_is_an_empty_page(user, client_for):
    body = client_for(user).get("/api/tasks").json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_pages_with_page_and_page_size(team, client_for):
    TaskFactory.create_batch(7, project=team["project"], reporter=team["member"])
    client = client_for(team["member"])

    first = client.get("/api/tasks", {"page_size": 3}).json()
    third = client.get("/api/tasks", {"page_size": 3, "page": 3}).json()

    assert first["count"] == 7
    assert len(first["results"]) == 3
    assert "page=2" in first["next"]
    assert "page_size=3" in first["next"]
    assert len(third["results"]) == 1
    assert third["next"] is None
    assert third["previous"] is not None
    all_ids = {t["id"] for t in first["results"]} | {t["id"] for t in third["results"]}
    assert len(all_ids) == 4


def test_list_defaults_to_20_per_page_and_caps_page_size_at_100(team, client_for):
    TaskFactory.create_batch(101, project=team["project"], reporter=team["member"])
    client = client_for(team["member"])

    default = client.get("/api/tasks").json()
    capped = client.get("/api/tasks", {"page_size": 1000}).json()

    assert default["count"] == capped["count"] == 101
    assert len(default["results"]) == 20
    assert len(capped["results"]) == 100
    assert capped["next"] is not None


def test_a_page_past_the_end_is_a_json_404(team, team_task, client_for):
    response = client_for(team["member"]).get("/api/tasks", {"page": 99})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("page_size", ["0", "-1", "abc"])
def test_a_bad_page_size_falls_back_to_the_default(team, team_task, client_for, page_size):
    response = client_for(team["member"]).get("/api/tasks", {"page_size": page_size})

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_list_is_watching_is_per_user(team, team_task, client_for):
    for_reporter = client_for(team["member"]).get("/api/tasks").json()["results"][0]
    for_admin = client_for(team["admin"]).get("/api/tasks").json()["results"][0]

    assert for_reporter["is_watching"] is True
    assert for_admin["is_watching"] is False


def test_list_shows_assignee_and_deadline(team, client_for):
    deadline = timezone.now() + timedelta(days=2)
    TaskFactory(project=team["project"], reporter=team["member"], assignee=team["admin"], deadline=deadline)

    result = client_for(team["member"]).get("/api/tasks").json()["results"][0]

    assert result["assignee"] == {"id": team["admin"].pk, "name": team["admin"].name, "email": team["admin"].email}
    assert datetime.fromisoformat(result["deadline"].replace("Z", "+00:00")) == deadline
