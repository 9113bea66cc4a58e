import pytest

from accounts.models import User
from projects.models import Membership, Role
from tasks.models import Task, TaskWatcher
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory
from tests.django_core.projects.helpers import MISSING_ID, NOT_FOUND, db_snapshot, roles_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(team):
    """The team plus a second admin, member and viewer, so every rank has a peer."""
    project = team["project"]
    for role in ("admin", "member", "viewer"):
        team[f"{role}2"] = UserFactory(name=f"Second {role}")
        MembershipFactory(project=project, user=team[f"{role}2"], role=role)
    return team


def member_url(team, who: str) -> str:
    return f"/api/projects/{team['project'].pk}/members/{team[who].pk}"


# --- list --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_member_lists_members(team, client_for, role):
    response = client_for(team[role]).get(f"/api/projects/{team['project'].pk}/members")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert body["next"] is None
    assert {(m["user"]["id"], m["role"]) for m in body["results"]} == {(team[r.value].pk, r.value) for r in Role}
    first = body["results"][0]
    assert set(first) == {"user", "role", "joined_at"}
    assert set(first["user"]) == {"id", "name", "email"}


def test_members_are_listed_in_joining_order(team, client_for):
    results = client_for(team["viewer"]).get(f"/api/projects/{team['project'].pk}/members/").json()["results"]

    # the team fixture adds them in Role order: owner, admin, member, viewer
    assert [m["role"] for m in results] == ["owner", "admin", "member", "viewer"]


def test_members_page_size_is_capped_at_100(team, client_for):
    users = User.objects.bulk_create([User(email=f"bulk{i}@example.com", name=f"Bulk {i}") for i in range(100)])
    Membership.objects.bulk_create([Membership(project=team["project"], user=u, role=Role.VIEWER) for u in users])

    body = client_for(team["member"]).get(f"/api/projects/{team['project'].pk}/members", {"page_size": 1000}).json()

    assert body["count"] == 104
    assert len(body["results"]) == 100
    assert body["next"] is not None


def test_outsider_cannot_list_members(team, client_for):
    client = client_for(team["outsider"])

    real = client.get(f"/api/projects/{team['project'].pk}/members")
    missing = client.get(f"/api/projects/{MISSING_ID}/members")

    assert real.status_code == missing.status_code == 404
    assert real.json() == missing.json() == NOT_FOUND


# --- change role -------------------------------------------------------------------------------

ALLOWED_CHANGES = [
    # owner manages everyone
    ("owner", "admin", "member"),
    ("owner", "admin", "viewer"),
    ("owner", "member", "admin"),
    ("owner", "member", "viewer"),
    ("owner", "viewer", "member"),
    ("owner", "viewer", "admin"),
    # an admin manages members and viewers, up to admin
    ("admin", "member", "viewer"),
    ("admin", "member", "admin"),
    ("admin", "viewer", "member"),
    ("admin", "viewer", "admin"),
    # setting the same role is harmless
    ("admin", "member", "member"),
]


@pytest.mark.parametrize(("actor", "target", "new_role"), ALLOWED_CHANGES)
def test_allowed_role_changes(crowd, client_for, actor, target, new_role):
    project = crowd["project"]
    before = roles_of(project)

    response = client_for(crowd[actor]).patch(member_url(crowd, target), {"role": new_role}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["role"] == new_role
    assert response.json()["user"]["id"] == crowd[target].pk
    assert roles_of(project) == {**before, crowd[target].pk: new_role}


REFUSED_CHANGES = [
    # an admin cannot touch the owner or another admin, nor hand out ownership
    ("admin", "owner", "member", "insufficient_role"),
    ("admin", "owner", "admin", "insufficient_role"),
    ("admin", "admin2", "member", "insufficient_role"),
    ("admin", "admin2", "viewer", "insufficient_role"),
    ("admin", "member", "owner", "insufficient_role"),
    ("admin", "viewer", "owner", "insufficient_role"),
    # members and viewers manage nobody
    ("member", "viewer", "member", "insufficient_role"),
    ("member", "member2", "viewer", "insufficient_role"),
    ("member", "admin", "member", "insufficient_role"),
    ("viewer", "viewer2", "member", "insufficient_role"),
    ("viewer", "member", "viewer", "insufficient_role"),
    # nobody changes their own role
    ("owner", "owner", "admin", "own_role"),
    ("owner", "owner", "owner", "own_role"),
    ("admin", "admin", "member", "own_role"),
    ("member", "member", "admin", "insufficient_role"),
    ("viewer", "viewer", "member", "insufficient_role"),
]


@pytest.mark.parametrize(("actor", "target", "new_role", "code"), REFUSED_CHANGES)
def test_refused_role_changes(crowd, client_for, actor, target, new_role, code):
    before = db_snapshot()

    response = client_for(crowd[actor]).patch(member_url(crowd, target), {"role": new_role}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == code
    assert db_snapshot() == before


def test_giving_owner_transfers_ownership(team, client_for):
    project = team["project"]

    response = client_for(team["owner"]).patch(member_url(team, "member"), {"role": "owner"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "owner"
    roles = roles_of(project)
    assert roles[team["member"].pk] == "owner"
    assert roles[team["owner"].pk] == "admin"
    assert list(roles.values()).count("owner") == 1
    # and the new owner now holds the owner's powers, the old one no longer does
    assert client_for(team["owner"]).delete(f"/api/projects/{project.pk}").status_code == 403
    assert client_for(team["member"]).get(f"/api/projects/{project.pk}").json()["my_role"] == "owner"


def test_ownership_can_be_transferred_back(team, client_for):
    client_for(team["owner"]).patch(member_url(team, "admin"), {"role": "owner"}, format="json")

    response = client_for(team["admin"]).patch(member_url(team, "owner"), {"role": "owner"}, format="json")

    assert response.status_code == 200
    roles = roles_of(team["project"])
    assert roles[team["owner"].pk] == "owner"
    assert roles[team["admin"].pk] == "admin"
    assert list(roles.values()).count("owner") == 1


def test_role_change_rejects_an_unknown_role(team, client_for):
    before = db_snapshot()

    response = client_for(team["owner"]).patch(member_url(team, "member"), {"role": "superuser"}, format="json")

    assert response.status_code == 400
    assert "role" in response.json()
    assert db_snapshot() == before


def test_role_change_needs_a_role(team, client_for):
    response = client_for(team["owner"]).patch(member_url(team, "member"), {}, format="json")

    assert response.status_code == 400
    assert "role" in response.json()


def test_role_change_of_a_non_member_is_404(team, client_for):
    project = team["project"]
    client = client_for(team["owner"])

    outsider = client.patch(
        f"/api/projects/{project.pk}/members/{team['outsider'].pk}", {"role": "admin"}, format="json"
    )
    missing = client.patch(f"/api/projects/{project.pk}/members/{MISSING_ID}", {"role": "admin"}, format="json")

    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json() == NOT_FOUND


# --- remove and leave --------------------------------------------------------------------------

ALLOWED_REMOVALS = [
    ("owner", "admin"),
    ("owner", "member"),
    ("owner", "viewer"),
    ("admin", "member"),
    ("admin", "viewer"),
]


@pytest.mark.parametrize(("actor", "target"), ALLOWED_REMOVALS)
def test_allowed_removals(crowd, client_for, actor, target):
    project = crowd["project"]
    before = roles_of(project)

    response = client_for(crowd[actor]).delete(member_url(crowd, target))

    assert response.status_code == 204
    expected = dict(before)
    del expected[crowd[target].pk]
    assert roles_of(project) == expected
    assert client_for(crowd[target]).get(f"/api/projects/{project.pk}").status_code == 404


REFUSED_REMOVALS = [
    ("admin", "owner"),
    ("admin", "admin2"),
    ("member", "viewer"),
    ("member", "member2"),
    ("member", "owner"),
    ("viewer", "viewer2"),
    ("viewer", "member"),
]


@pytest.mark.parametrize(("actor", "target"), REFUSED_REMOVALS)
def test_refused_removals(crowd, client_for, actor, target):
    before = db_snapshot()

    response = client_for(crowd[actor]).delete(member_url(crowd, target))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


@pytest.mark.parametrize("role", ["admin", "member", "viewer"])
def test_anyone_but_the_owner_may_leave(team, client_for, role):
    project = team["project"]

    response = client_for(team[role]).delete(member_url(team, role))

    assert response.status_code == 204
    assert team[role].pk not in roles_of(project)
    assert client_for(team[role]).get(f"/api/projects/{project.pk}").status_code == 404


def test_the_owner_cannot_leave(team, client_for):
    before = db_snapshot()

    response = client_for(team["owner"]).delete(member_url(team, "owner"))

    assert response.status_code == 409
    assert response.json()["code"] == "owner_cannot_leave"
    assert db_snapshot() == before


def test_former_owner_may_leave_after_transferring(team, client_for):
    owner = client_for(team["owner"])
    owner.patch(member_url(team, "admin"), {"role": "owner"}, format="json")

    response = owner.delete(member_url(team, "owner"))

    assert response.status_code == 204
    assert roles_of(team["project"]) == {
        team["admin"].pk: "owner",
        team["member"].pk: "member",
        team["viewer"].pk: "viewer",
    }


def test_removing_a_non_member_is_404(team, client_for):
    project = team["project"]
    client = client_for(team["owner"])

    outsider = client.delete(f"/api/projects/{project.pk}/members/{team['outsider'].pk}")
    missing = client.delete(f"/api/projects/{project.pk}/members/{MISSING_ID}")

    assert outsider.status_code == missing.status_code == 404
    assert outsider.json() == missing.json() == NOT_FOUND


def test_removed_member_is_unassigned_and_unwatches_only_in_that_project(team, client_for):
    # given the member has tasks and watches both in the team's project and in another project
    project, member = team["project"], team["member"]
    elsewhere = team["other_project"]
    MembershipFactory(project=elsewhere, user=member, role=Role.MEMBER)
    assigned = TaskFactory(project=project, reporter=team["owner"], assignee=member)
    watched = TaskFactory(project=project, reporter=team["owner"])
    TaskWatcher.objects.create(task=assigned, user=member)
    TaskWatcher.objects.create(task=watched, user=member)
    TaskWatcher.objects.create(task=watched, user=team["owner"])
    other_task = TaskFactory(project=elsewhere, reporter=team["outsider"], assignee=member)
    TaskWatcher.objects.create(task=other_task, user=member)
    reported = TaskFactory(project=project, reporter=member)

    # when the admin removes them
    response = client_for(team["admin"]).delete(member_url(team, "member"))

    # then their tasks in that project are unassigned and their watches there dropped
    assert response.status_code == 204
    assigned.refresh_from_db()
    assert assigned.assignee is None
    assert not TaskWatcher.objects.filter(task__project=project, user=member).exists()
    # the other watchers, the other project and the task history stay
    assert TaskWatcher.objects.filter(task=watched, user=team["owner"]).exists()
    other_task.refresh_from_db()
    assert other_task.assignee == member
    assert TaskWatcher.objects.filter(task=other_task, user=member).exists()
    assert Task.objects.get(pk=reported.pk).reporter == member


def test_leaving_also_releases_tasks(team, client_for):
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"])
    TaskWatcher.objects.create(task=task, user=team["member"])

    response = client_for(team["member"]).delete(member_url(team, "member"))

    assert response.status_code == 204
    task.refresh_from_db()
    assert task.assignee is None
    assert not TaskWatcher.objects.filter(task=task, user=team["member"]).exists()
