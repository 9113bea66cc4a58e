"""Who may do what on every tasks endpoint.

Outsiders never learn that a task exists: every endpoint addressed by a task id answers them
exactly like a task id that does not exist (404), and a refused request changes nothing."""

import pytest

from tasks.models import Comment, Task, TaskWatcher
from tests.django_core.factories import MembershipFactory
from tests.django_core.tasks.conftest import NOT_FOUND

MISSING_ID = 999_999_999

# (method, path, body) for every endpoint addressed by a task id.
TASK_ENDPOINTS = [
    ("get", "/api/tasks/{id}", None),
    ("get", "/api/tasks/{id}/", None),
    ("patch", "/api/tasks/{id}", {"title": "Hijacked"}),
    ("patch", "/api/tasks/{id}", {"status": "done", "assignee": None}),
    ("patch", "/api/tasks/{id}", {"title": ""}),  # even an invalid body is a 404, not a 400
    ("delete", "/api/tasks/{id}", None),
    ("post", "/api/tasks/{id}/watch", None),
    ("delete", "/api/tasks/{id}/watch", None),
    ("get", "/api/tasks/{id}/comments", None),
    ("post", "/api/tasks/{id}/comments", {"body": "Hello from outside"}),
    ("post", "/api/tasks/{id}/comments", {"body": ""}),
]
ENDPOINT_IDS = [f"{method} {path} {body}" for method, path, body in TASK_ENDPOINTS]


def call(client, method, path, body, task_id, **extra):
    return getattr(client, method)(path.format(id=task_id), body, format="json", **extra)


@pytest.mark.parametrize(("method", "path", "body"), TASK_ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_an_outsider_gets_404_like_a_missing_task_and_nothing_changes(
    tenants, client_for, db_snapshot, actor, owner, method, path, body
):
    client = client_for(tenants[actor]["user"])
    foreign_id = tenants[owner]["task"].pk
    before = db_snapshot()

    foreign = call(client, method, path, body, foreign_id)
    missing = call(client, method, path, body, MISSING_ID)

    assert foreign.status_code == 404
    assert foreign.json() == NOT_FOUND
    assert (missing.status_code, missing.json()) == (foreign.status_code, foreign.json())
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), TASK_ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_a_member_of_the_other_project_is_still_an_outsider_here(
    tenants, client_for, db_snapshot, actor, owner, method, path, body
):
    # The helper is a member of their own project: membership elsewhere grants nothing here.
    client = client_for(tenants[actor]["helper"])
    before = db_snapshot()

    response = call(client, method, path, body, tenants[owner]["task"].pk)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("get", "/api/tasks/{id}", None, 200),
        ("patch", "/api/tasks/{id}", {"title": "Renamed"}, 200),
        ("post", "/api/tasks/{id}/watch", None, 204),
        ("delete", "/api/tasks/{id}/watch", None, 204),
        ("get", "/api/tasks/{id}/comments", None, 200),
        ("post", "/api/tasks/{id}/comments", {"body": "Hi"}, 201),
        ("delete", "/api/tasks/{id}", None, 204),
    ],
)
@pytest.mark.parametrize("actor", ["alice", "bob"])
def test_the_same_requests_succeed_on_my_own_task(tenants, client_for, actor, method, path, body, expected):
    # The control for the matrix above: the 404s come from the swapped ids, not from the requests.
    response = call(client_for(tenants[actor]["user"]), method, path, body, tenants[actor]["task"].pk)

    assert response.status_code == expected


@pytest.mark.parametrize(("method", "path", "body"), TASK_ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_removed_member_becomes_an_outsider(tenants, client_for, db_snapshot, method, path, body):
    helper, task = tenants["alice"]["helper"], tenants["alice"]["task"]
    client_for(tenants["alice"]["user"]).delete(f"/api/projects/{tenants['alice']['project'].pk}/members/{helper.pk}")
    before = db_snapshot()

    response = call(client_for(helper), method, path, body, task.pk)

    assert response.status_code == 404
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), TASK_ENDPOINTS, ids=ENDPOINT_IDS)
def test_anonymous_requests_are_401_and_change_nothing(tenants, api_client, db_snapshot, method, path, body):
    before = db_snapshot()

    response = call(api_client, method, path, body, tenants["alice"]["task"].pk)

    assert response.status_code == 401
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), TASK_ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_forged_token_is_401(tenants, api_client, method, path, body):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    response = call(api_client, method, path, body, tenants["alice"]["task"].pk)

    assert response.status_code == 401


# --- GET /api/tasks and POST /api/tasks: the swap happens in the query or the body -------------


@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_the_list_never_shows_the_other_projects_tasks(tenants, client_for, actor, owner):
    client = client_for(tenants[actor]["user"])
    theirs = tenants[owner]

    queries = [
        {},
        {"project": theirs["project"].pk},
        {"assignee": theirs["helper"].pk},
        {"assignee": theirs["user"].pk},
        {"search": theirs["task"].title_en},
        {"status": "todo,in_progress,review,done", "page_size": 100},
    ]
    for query in queries:
        response = client.get("/api/tasks", query)
        assert response.status_code == 200
        assert theirs["task"].pk not in [t["id"] for t in response.json()["results"]], query

    assert [t["id"] for t in client.get("/api/tasks").json()["results"]] == [tenants[actor]["task"].pk]


@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_filtering_by_the_other_project_answers_like_a_missing_project(tenants, client_for, actor, owner):
    client = client_for(tenants[actor]["user"])

    foreign = client.get("/api/tasks", {"project": tenants[owner]["project"].pk})
    missing = client.get("/api/tasks", {"project": MISSING_ID})

    assert foreign.status_code == missing.status_code == 200
    assert foreign.json() == missing.json()
    assert foreign.json()["count"] == 0


@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_creating_in_the_other_project_is_400_like_a_missing_project(tenants, client_for, db_snapshot, actor, owner):
    client = client_for(tenants[actor]["user"])
    before = db_snapshot()

    foreign = client.post("/api/tasks", {"project": tenants[owner]["project"].pk, "title": "Planted"}, format="json")
    missing = client.post("/api/tasks", {"project": MISSING_ID, "title": "Planted"}, format="json")

    assert foreign.status_code == 400
    assert list(foreign.json()) == ["project"]
    assert (missing.status_code, missing.json()) == (foreign.status_code, foreign.json())
    assert db_snapshot() == before


@pytest.mark.parametrize(("actor", "owner"), [("alice", "bob"), ("bob", "alice")])
def test_assigning_the_other_projects_people_is_400_like_a_missing_user(tenants, client_for, db_snapshot, actor, owner):
    client = client_for(tenants[actor]["user"])
    mine = tenants[actor]
    before = db_snapshot()

    answers = []
    for assignee in (tenants[owner]["user"].pk, tenants[owner]["helper"].pk, MISSING_ID):
        created = client.post(
            "/api/tasks", {"project": mine["project"].pk, "title": "T", "assignee": assignee}, format="json"
        )
        patched = client.patch(f"/api/tasks/{mine['task'].pk}", {"assignee": assignee}, format="json")
        answers += [(created.status_code, created.json()), (patched.status_code, patched.json())]

    assert answers[0][0] == 400
    assert list(answers[0][1]) == ["assignee"]
    assert all(answer == answers[0] for answer in answers)
    assert db_snapshot() == before


def test_creating_with_the_other_projects_id_and_my_assignee_changes_nothing(tenants, client_for, db_snapshot):
    before = db_snapshot()

    response = client_for(tenants["alice"]["user"]).post(
        "/api/tasks",
        {"project": tenants["bob"]["project"].pk, "title": "T", "assignee": tenants["alice"]["helper"].pk},
        format="json",
    )

    assert response.status_code == 400
    assert db_snapshot() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_list_endpoint_needs_authentication(tenants, api_client, db_snapshot, method):
    before = db_snapshot()

    response = getattr(api_client, method)(
        "/api/tasks", {"project": tenants["alice"]["project"].pk, "title": "T"}, format="json"
    )

    assert response.status_code == 401
    assert db_snapshot() == before


# --- roles inside the project ------------------------------------------------------------------

ROLES = ["viewer", "member", "admin", "owner"]

# (method, path, body, {role: expected status}); the task is reported by a separate member.
ROLE_MATRIX = [
    ("get", "/api/tasks/{id}", None, {"viewer": 200, "member": 200, "admin": 200, "owner": 200}),
    ("patch", "/api/tasks/{id}", {"title": "Edited"}, {"viewer": 403, "member": 200, "admin": 200, "owner": 200}),
    ("patch", "/api/tasks/{id}", {"status": "done"}, {"viewer": 403, "member": 200, "admin": 200, "owner": 200}),
    ("delete", "/api/tasks/{id}", None, {"viewer": 403, "member": 403, "admin": 204, "owner": 204}),
    ("post", "/api/tasks/{id}/watch", None, {"viewer": 204, "member": 204, "admin": 204, "owner": 204}),
    ("delete", "/api/tasks/{id}/watch", None, {"viewer": 204, "member": 204, "admin": 204, "owner": 204}),
    ("get", "/api/tasks/{id}/comments", None, {"viewer": 200, "member": 200, "admin": 200, "owner": 200}),
    ("post", "/api/tasks/{id}/comments", {"body": "Hi"}, {"viewer": 403, "member": 201, "admin": 201, "owner": 201}),
]


@pytest.fixture
def reported_task(team, make_task):
    reporter = MembershipFactory(project=team["project"], role="member").user
    return make_task(project=team["project"], reporter=reporter, title="Someone else's")


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ROLE_MATRIX, ids=[f"{m} {p} {b}" for m, p, b, _ in ROLE_MATRIX]
)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(team, reported_task, client_for, db_snapshot, role, method, path, body, expected):
    before = db_snapshot()

    response = call(client_for(team[role]), method, path, body, reported_task.pk)

    assert response.status_code == expected[role], response.content
    if response.status_code == 403:
        assert response.json()["code"] == "insufficient_role"
        assert db_snapshot() == before


@pytest.mark.parametrize(("role", "expected"), [("viewer", 403), ("member", 201), ("admin", 201), ("owner", 201)])
def test_role_matrix_for_creating(team, client_for, db_snapshot, role, expected):
    before = db_snapshot()

    response = client_for(team[role]).post("/api/tasks", {"project": team["project"].pk, "title": "New"}, format="json")

    assert response.status_code == expected
    if expected == 403:
        assert db_snapshot() == before
    else:
        assert Task.objects.filter(project=team["project"], reporter=team[role]).count() == 1


def test_the_reporter_may_delete_their_own_task_as_a_plain_member(team, reported_task, client_for):
    response = client_for(reported_task.reporter).delete(f"/api/tasks/{reported_task.pk}")

    assert response.status_code == 204
    assert not Task.objects.filter(pk=reported_task.pk).exists()
    assert not TaskWatcher.objects.filter(task_id=reported_task.pk).exists()
    assert not Comment.objects.filter(task_id=reported_task.pk).exists()
