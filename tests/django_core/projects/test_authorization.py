"""The authorization matrix of the projects API: two users, each owning a project with members, tasks
and a pending invite, try every endpoint with the other side's ids (and with mixes of their own and
the other side's ids). Outsiders always get the 404 a missing id gets; members below the needed role
get 403 on writes; a refused request changes nothing."""

from dataclasses import dataclass
from typing import Any

import pytest

from projects import services
from projects.models import Role
from tasks.models import TaskWatcher
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.django_core.projects.helpers import MISSING_ID, NOT_FOUND, db_snapshot

pytestmark = pytest.mark.django_db


def _side(tag: str) -> dict[str, Any]:
    """One project with an owner, admin, member and viewer, a task and a pending invite."""
    project = ProjectFactory(name=f"Project {tag}")
    people = {role.value: UserFactory(name=f"{role.label} {tag}") for role in Role}
    for role, person in people.items():
        MembershipFactory(project=project, user=person, role=role)
    task = TaskFactory(project=project, reporter=people["owner"], assignee=people["member"])
    TaskWatcher.objects.create(task=task, user=people["member"])
    TaskWatcher.objects.create(task=task, user=people["viewer"])
    invitee = UserFactory(email=f"invitee-{tag.lower()}@example.com", name=f"Invitee {tag}")
    invite = services.invite_create(project=project, actor=people["owner"], email=invitee.email, role=Role.MEMBER)
    return {"project": project, **people, "invitee": invitee, "invite": invite.invite}


@pytest.fixture
def world(db: None) -> dict[str, dict[str, Any]]:
    return {"a": _side("A"), "b": _side("B")}


def ids_for(world: dict[str, dict[str, Any]], me: str) -> dict[str, int]:
    """Symbolic ids as seen from side `me`: `mine`/`my_*` are mine, `theirs`/`their_*` the other's."""
    other = "b" if me == "a" else "a"
    ids: dict[str, int] = {}
    for prefix, side in (("my", world[me]), ("their", world[other])):
        ids["mine" if prefix == "my" else "theirs"] = side["project"].pk
        for key in ("owner", "admin", "member", "viewer", "invitee"):
            ids[f"{prefix}_{key}"] = side[key].pk
        ids[f"{prefix}_invite"] = side["invite"].pk
    return ids


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # a format string over the symbolic ids
    body: dict[str, Any] | None = None
    actor: str = "my_owner"

    def url(self, ids: dict[str, int]) -> str:
        return self.path.format(**ids)

    def missing_url(self, ids: dict[str, int]) -> str:
        """The same request with every id of the side the actor is not on replaced by an id that
        does not exist."""
        foreign = ("their",) if self.actor.startswith("my_") else ("my_", "mine")
        return self.path.format(**{k: (MISSING_ID if k.startswith(foreign) else v) for k, v in ids.items()})

    def send(self, client: Any, url: str) -> Any:
        return getattr(client, self.method)(url, self.body, format="json")

    def __str__(self) -> str:
        return f"{self.actor}:{self.method.upper()} {self.path}"


ROLE_BODY = {"role": "admin"}
INVITE_BODY = {"email": "someone.new@example.com", "role": "viewer"}

# Every project and invite endpoint, with the other side's ids.
OUTSIDER_CALLS = [
    # the other side's project and everything under it
    Call("get", "/api/projects/{theirs}"),
    Call("patch", "/api/projects/{theirs}", {"name": "Hijacked"}),
    Call("delete", "/api/projects/{theirs}"),
    Call("get", "/api/projects/{theirs}/members"),
    Call("patch", "/api/projects/{theirs}/members/{their_member}", ROLE_BODY),
    Call("patch", "/api/projects/{theirs}/members/{their_owner}", {"role": "viewer"}),
    Call("patch", "/api/projects/{theirs}/members/{my_owner}", {"role": "owner"}),
    Call("delete", "/api/projects/{theirs}/members/{their_member}"),
    Call("delete", "/api/projects/{theirs}/members/{their_owner}"),
    Call("delete", "/api/projects/{theirs}/members/{my_owner}"),
    Call("get", "/api/projects/{theirs}/invites"),
    Call("post", "/api/projects/{theirs}/invites", INVITE_BODY),
    Call("delete", "/api/projects/{theirs}/invites/{their_invite}"),
    Call("delete", "/api/projects/{theirs}/invites/{my_invite}"),
    # my project with the other side's member and invite ids
    Call("patch", "/api/projects/{mine}/members/{their_member}", ROLE_BODY),
    Call("patch", "/api/projects/{mine}/members/{their_owner}", {"role": "viewer"}),
    Call("delete", "/api/projects/{mine}/members/{their_member}"),
    Call("delete", "/api/projects/{mine}/members/{their_owner}"),
    Call("delete", "/api/projects/{mine}/invites/{their_invite}"),
    # the other side's invite, by its id, for anyone but its invitee
    Call("post", "/api/invites/{their_invite}/accept", actor="my_invitee"),
    Call("post", "/api/invites/{their_invite}/decline", actor="my_invitee"),
    Call("post", "/api/invites/{their_invite}/accept", actor="my_owner"),
    Call("post", "/api/invites/{their_invite}/decline", actor="my_owner"),
    Call("post", "/api/invites/{my_invite}/accept", actor="their_owner"),
    Call("post", "/api/invites/{my_invite}/accept", actor="their_invitee"),
    # and the other side's members and viewers, who are outsiders here
    Call("get", "/api/projects/{mine}", actor="their_viewer"),
    Call("delete", "/api/projects/{mine}/members/{my_viewer}", actor="their_admin"),
    Call("post", "/api/projects/{mine}/invites", INVITE_BODY, actor="their_admin"),
]


@pytest.mark.parametrize("me", ["a", "b"])
@pytest.mark.parametrize("call", OUTSIDER_CALLS, ids=str)
def test_outsiders_get_404_and_change_nothing(world, client_for, me, call):
    ids = ids_for(world, me)
    actor = _user(world, me, call.actor)
    client = client_for(actor)
    before = db_snapshot()

    real = call.send(client, call.url(ids))
    missing = call.send(client, call.missing_url(ids))

    assert real.status_code == 404, real.json()
    assert real.json() == missing.json() == NOT_FOUND
    assert missing.status_code == 404
    assert db_snapshot() == before


# Writes (and the admin-only invite list) a project's members and viewers are refused.
WRITE_CALLS = [
    Call("patch", "/api/projects/{mine}", {"name": "Renamed"}),
    Call("patch", "/api/projects/{mine}", {"name_ru": "Переименован"}),
    Call("delete", "/api/projects/{mine}"),
    Call("patch", "/api/projects/{mine}/members/{my_owner}", {"role": "viewer"}),
    Call("patch", "/api/projects/{mine}/members/{my_admin}", {"role": "viewer"}),
    Call("patch", "/api/projects/{mine}/members/{peer}", ROLE_BODY),
    Call("patch", "/api/projects/{mine}/members/{self}", ROLE_BODY),
    Call("patch", "/api/projects/{mine}/members/{self}", {"role": "owner"}),
    Call("delete", "/api/projects/{mine}/members/{my_owner}"),
    Call("delete", "/api/projects/{mine}/members/{my_admin}"),
    Call("delete", "/api/projects/{mine}/members/{peer}"),
    Call("get", "/api/projects/{mine}/invites"),
    Call("post", "/api/projects/{mine}/invites", INVITE_BODY),
    Call("post", "/api/projects/{mine}/invites", {"email": "someone.new@example.com", "role": "member"}),
    Call("delete", "/api/projects/{mine}/invites/{my_invite}"),
]


@pytest.mark.parametrize("me", ["a", "b"])
@pytest.mark.parametrize("role", ["viewer", "member"])
@pytest.mark.parametrize("call", WRITE_CALLS, ids=str)
def test_members_below_admin_get_403_and_change_nothing(world, client_for, me, role, call):
    ids = ids_for(world, me)
    peer = "member" if role == "viewer" else "viewer"
    ids = {**ids, "self": ids[f"my_{role}"], "peer": ids[f"my_{peer}"]}
    client = client_for(world[me][role])
    before = db_snapshot()

    response = call.send(client, call.url(ids))

    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


@pytest.mark.parametrize("me", ["a", "b"])
@pytest.mark.parametrize("call", [Call("delete", "/api/projects/{mine}")], ids=str)
def test_admins_cannot_delete_the_project(world, client_for, me, call):
    before = db_snapshot()

    response = call.send(client_for(world[me]["admin"]), call.url(ids_for(world, me)))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


READ_CALLS = [
    Call("get", "/api/projects/{mine}"),
    Call("get", "/api/projects/{mine}/members"),
]


@pytest.mark.parametrize("me", ["a", "b"])
@pytest.mark.parametrize("role", ["viewer", "member"])
@pytest.mark.parametrize("call", READ_CALLS, ids=str)
def test_members_and_viewers_read(world, client_for, me, role, call):
    before = db_snapshot()

    response = call.send(client_for(world[me][role]), call.url(ids_for(world, me)))

    assert response.status_code == 200
    assert db_snapshot() == before


@pytest.mark.parametrize("me", ["a", "b"])
def test_lists_show_only_my_side(world, client_for, me):
    other = "b" if me == "a" else "a"
    mine, theirs = world[me], world[other]

    projects = client_for(mine["viewer"]).get("/api/projects").json()
    invites = client_for(mine["invitee"]).get("/api/invites").json()
    owners_invites = client_for(mine["owner"]).get("/api/invites").json()
    project_invites = client_for(mine["owner"]).get(f"/api/projects/{mine['project'].pk}/invites").json()

    assert [p["id"] for p in projects["results"]] == [mine["project"].pk]
    assert [i["id"] for i in invites["results"]] == [mine["invite"].pk]
    assert owners_invites["count"] == 0
    assert [i["id"] for i in project_invites["results"]] == [mine["invite"].pk]
    assert theirs["invite"].pk not in {i["id"] for i in project_invites["results"]}


def _user(world: dict[str, dict[str, Any]], me: str, symbol: str) -> Any:
    other = "b" if me == "a" else "a"
    prefix, _, key = symbol.partition("_")
    return world[me if prefix == "my" else other][key]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/projects"),
        ("post", "/api/projects"),
        ("get", "/api/projects/{mine}"),
        ("patch", "/api/projects/{mine}"),
        ("delete", "/api/projects/{mine}"),
        ("get", "/api/projects/{mine}/members"),
        ("patch", "/api/projects/{mine}/members/{my_member}"),
        ("delete", "/api/projects/{mine}/members/{my_member}"),
        ("get", "/api/projects/{mine}/invites"),
        ("post", "/api/projects/{mine}/invites"),
        ("delete", "/api/projects/{mine}/invites/{my_invite}"),
        ("get", "/api/invites"),
        ("post", "/api/invites/accept"),
        ("post", "/api/invites/{my_invite}/accept"),
        ("post", "/api/invites/{my_invite}/decline"),
    ],
)
def test_every_endpoint_needs_authentication(world, api_client, method, path):
    before = db_snapshot()

    response = getattr(api_client, method)(path.format(**ids_for(world, "a")), {}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert db_snapshot() == before


def test_an_unsupported_method_is_a_json_405(world, client_for):
    response = client_for(world["a"]["owner"]).put(f"/api/projects/{world['a']['project'].pk}", {}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
