"""The authorization matrix: every endpoint of the URL conf by every way of standing towards a
project (owner, admin, member, viewer, outsider, anonymous), each cell the status the policy
says. The endpoints are read from the URL conf itself: one that is neither in MATRIX nor in
PUBLIC (with the reason it needs no matrix) fails `test_every_endpoint_is_in_the_matrix`, so a
new endpoint cannot escape it.

Every cell runs on its own copy of the same small world (a project where the five roles stand
as their names say, a colleague, a task, a comment, invites, a notification), through the real
API with a real access token, and checks only the status: what each answer holds is the
endpoints' own tests' business."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from notifications.models import Notification
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from projects.models import Role
from projects.services import invite_create
from tests.django_core.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "member", "viewer", "outsider", "anonymous")


@dataclass(frozen=True)
class Cell:
    method: str
    route: str  # the URL conf's pattern, as `endpoint_routes` reads it
    expected: dict[str, int]  # role -> status
    body: dict[str, Any] | None = None


def by_role(owner: int, admin: int, member: int, viewer: int, outsider: int, anonymous: int = 401) -> dict[str, int]:
    return dict(zip(ROLES, (owner, admin, member, viewer, outsider, anonymous), strict=True))


def everyone(status: int, anonymous: int = 401) -> dict[str, int]:
    return by_role(status, status, status, status, status, anonymous)


# Members see a project's things; admins and the owner manage it; outsiders get 404 (no existence
# leak); a viewer reads only. The targets: `{user_id}` is a colleague (a member who is none of
# the five), `{comment_id}` is the member's comment on the task, `{invite_id}` under the
# project is a pending invite of it, `/api/invites/{id}` is one addressed to the outsider,
# `{notification_id}` is the owner's.
MATRIX: tuple[Cell, ...] = (
    Cell("GET", "api/users/me", everyone(200)),
    Cell("PATCH", "api/users/me", everyone(200), {"name": "Renamed"}),
    Cell("POST", "api/users/me/password", everyone(400), {"current_password": "wrong", "new_password": "x"}),
    # Every account of the matrix is verified: nothing to resend.
    Cell("POST", "api/users/me/verify-email", everyone(400)),
    Cell("GET", "api/projects", everyone(200)),
    Cell("POST", "api/projects", everyone(201), {"name": "Mine"}),
    Cell("GET", "api/projects/<int:project_id>", by_role(200, 200, 200, 200, 404)),
    Cell("PATCH", "api/projects/<int:project_id>", by_role(200, 200, 403, 403, 404), {"name": "Renamed"}),
    Cell("DELETE", "api/projects/<int:project_id>", by_role(204, 403, 403, 403, 404)),
    Cell("GET", "api/projects/<int:project_id>/members", by_role(200, 200, 200, 200, 404)),
    Cell(
        "PATCH",
        "api/projects/<int:project_id>/members/<int:user_id>",
        by_role(200, 200, 403, 403, 404),
        {"role": "viewer"},
    ),
    Cell("DELETE", "api/projects/<int:project_id>/members/<int:user_id>", by_role(204, 204, 403, 403, 404)),
    Cell("GET", "api/projects/<int:project_id>/invites", by_role(200, 200, 403, 403, 404)),
    Cell(
        "POST",
        "api/projects/<int:project_id>/invites",
        by_role(201, 201, 403, 403, 404),
        {"email": "newcomer@example.com", "role": "member"},
    ),
    Cell("DELETE", "api/projects/<int:project_id>/invites/<int:invite_id>", by_role(204, 204, 403, 403, 404)),
    Cell("GET", "api/projects/<int:project_id>/board", by_role(200, 200, 200, 200, 404)),
    Cell("GET", "api/invites", everyone(200)),
    Cell("POST", "api/invites/<int:invite_id>/accept", by_role(404, 404, 404, 404, 201)),
    Cell("POST", "api/invites/<int:invite_id>/decline", by_role(404, 404, 404, 404, 204)),
    Cell("GET", "api/tasks", everyone(200)),
    # A project that is not yours is a field error, worded as for one that does not exist.
    Cell("POST", "api/tasks", by_role(201, 201, 201, 403, 400), {"project": "{project_id}", "title": "New"}),
    Cell("GET", "api/tasks/<int:task_id>", by_role(200, 200, 200, 200, 404)),
    Cell("PATCH", "api/tasks/<int:task_id>", by_role(200, 200, 200, 403, 404), {"status": "review"}),
    # The reporter (the member) or an admin deletes a task.
    Cell("DELETE", "api/tasks/<int:task_id>", by_role(204, 204, 204, 403, 404)),
    Cell("POST", "api/tasks/<int:task_id>/watch", by_role(204, 204, 204, 204, 404)),
    Cell("DELETE", "api/tasks/<int:task_id>/watch", by_role(204, 204, 204, 204, 404)),
    Cell("GET", "api/tasks/<int:task_id>/comments", by_role(200, 200, 200, 200, 404)),
    Cell("POST", "api/tasks/<int:task_id>/comments", by_role(201, 201, 201, 403, 404), {"body": "Hello"}),
    # The comment is the member's: only its author edits it; the author or an admin deletes it.
    Cell(
        "PATCH",
        "api/tasks/<int:task_id>/comments/<int:comment_id>",
        by_role(403, 403, 200, 403, 404),
        {"body": "Edited"},
    ),
    Cell("DELETE", "api/tasks/<int:task_id>/comments/<int:comment_id>", by_role(204, 204, 204, 403, 404)),
    Cell("POST", "api/tasks/<int:task_id>/move", by_role(200, 200, 200, 403, 404), {"status": "review"}),
    Cell("GET", "api/tasks/<int:task_id>/activity", by_role(200, 200, 200, 200, 404)),
    Cell("GET", "api/notifications", everyone(200)),
    Cell("GET", "api/notifications/unread-count", everyone(200)),
    Cell("POST", "api/notifications/read-all", everyone(200)),
    Cell("GET", "api/notifications/preferences", everyone(200)),
    Cell("PUT", "api/notifications/preferences", everyone(200), {"task.commented": {"web": False}}),
    Cell("PATCH", "api/notifications/<int:notification_id>/read", by_role(200, 404, 404, 404, 404)),
    Cell("POST", "api/realtime/ticket", everyone(201)),
    Cell("POST", "api/telegram/link", everyone(201)),
    Cell("DELETE", "api/telegram/link", everyone(204)),
)

# Endpoints that need no matrix, and why.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "api/health"): "public liveness, no data (tests/django_core/common/test_health.py)",
    ("GET", "api/schema"): "the public API description",
    ("GET", "api/docs"): "the public API description",
    ("POST", "api/auth/register"): "anonymous by design (tests/django_core/accounts/test_register.py)",
    ("POST", "api/auth/login"): "anonymous by design (tests/django_core/accounts/test_login.py)",
    ("POST", "api/auth/refresh"): "the refresh token is the credential (tests/django_core/accounts/test_tokens.py)",
    ("POST", "api/auth/logout"): "the refresh token is the credential (tests/django_core/accounts/test_tokens.py)",
    (
        "POST",
        "api/invites/accept",
    ): "the emailed token is the credential (tests/django_core/projects/test_invites_api.py)",
    (
        "POST",
        "api/auth/verify-email",
    ): "the emailed token is the credential (tests/django_core/accounts/test_verify_email.py)",
    ("POST", "api/auth/password-reset"): "anonymous by design, answers the same for any address "
    "(tests/django_core/accounts/test_password_reset.py)",
    (
        "POST",
        "api/auth/password-reset/confirm",
    ): "the emailed token is the credential (tests/django_core/accounts/test_password_reset.py)",
}
# The bot's internal API: the service token, never a user's token (its own tests cover the chat
# accounts behind it: tests/django_core/telegram/test_internal_api.py).
INTERNAL_PREFIX = "internal/"

_METHODS = ("get", "post", "put", "patch", "delete")


def endpoint_routes() -> Iterator[tuple[str, str]]:
    """(METHOD, route) of every view of the URL conf (the optional trailing slash's twin counted
    once)."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, URLPattern]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    seen = set()
    for route, pattern in walk(get_resolver().url_patterns, ""):
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        if view is None or route.startswith("admin/"):
            continue  # the catch-all JSON 404s and the Django admin (staff sessions, its own tests)
        route = route.rstrip("/")
        for method in _METHODS:
            if hasattr(view, method) and (method.upper(), route) not in seen:
                seen.add((method.upper(), route))
                yield method.upper(), route


def test_every_endpoint_is_in_the_matrix() -> None:
    listed = {(cell.method, cell.route) for cell in MATRIX}
    missing = [
        (method, route)
        for method, route in endpoint_routes()
        if (method, route) not in listed and (method, route) not in PUBLIC and not route.startswith(INTERNAL_PREFIX)
    ]
    stale = listed - set(endpoint_routes())

    assert missing == [], "endpoints with no row in the authorization matrix: add one to MATRIX (or PUBLIC, with why)"
    assert stale == set(), "matrix rows for endpoints that are gone"


@dataclass
class World:
    people: dict[str, Any]
    ids: dict[str, int]


@pytest.fixture
def world(team: dict[str, Any]) -> World:
    project = team["project"]
    colleague = UserFactory(name="Colleague")
    MembershipFactory(project=project, user=colleague, role=Role.MEMBER)
    task = TaskFactory(project=project, reporter=team["member"], assignee=team["member"])
    comment = CommentFactory(task=task, author=team["member"])
    pending = invite_create(project=project, actor=team["owner"], email="pending@example.com", role=Role.MEMBER)
    # An invite to the outsider's address, from another project: theirs to accept or decline.
    inviting = ProjectFactory(name="Elsewhere")
    inviter = UserFactory()
    MembershipFactory(project=inviting, user=inviter, role=Role.OWNER)
    theirs = invite_create(project=inviting, actor=inviter, email=team["outsider"].email, role=Role.MEMBER)
    notification = Notification.objects.create(
        recipient=team["owner"],
        event_id="00000000-0000-4000-8000-000000000001",
        type="task.created",
        message="Hello",
        data={},
    )
    from telegram.services import telegram_bot_register

    telegram_bot_register(username="taskflow_matrix_bot")
    people = {role: team[role] for role in ROLES if role != "anonymous"}
    ids = {
        "project_id": project.pk,
        "user_id": colleague.pk,
        "task_id": task.pk,
        "comment_id": comment.pk,
        "notification_id": notification.pk,
        "project_invite_id": pending.invite.pk,
        "my_invite_id": theirs.invite.pk,
    }
    return World(people=people, ids=ids)


def _path(cell: Cell, ids: dict[str, int]) -> str:
    path = "/" + cell.route
    invite = ids["project_invite_id"] if cell.route.startswith("api/projects/") else ids["my_invite_id"]
    replacements = {**{f"<int:{name}>": str(value) for name, value in ids.items()}, "<int:invite_id>": str(invite)}
    for placeholder, value in replacements.items():
        path = path.replace(placeholder, value)
    assert "<" not in path, f"no id for {path}"
    return path


def _body(cell: Cell, ids: dict[str, int]) -> dict[str, Any] | None:
    if cell.body is None:
        return None
    return {key: ids[value[1:-1]] if value == "{project_id}" else value for key, value in cell.body.items()}


def _client(world: World, role: str) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(world.people[role]).access}")
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("cell", MATRIX, ids=lambda cell: f"{cell.method} {cell.route}")
def test_the_matrix(world: World, cell: Cell, role: str) -> None:
    response = getattr(_client(world, role), cell.method.lower())(
        _path(cell, world.ids), _body(cell, world.ids), format="json"
    )

    assert response.status_code == cell.expected[role], (role, response.content[:300])


@pytest.mark.parametrize("role", ROLES)
def test_no_user_token_opens_the_internal_api(world: World, role: str) -> None:
    for method, route in endpoint_routes():
        if not route.startswith(INTERNAL_PREFIX):
            continue
        path = "/" + route.replace("<int:task_id>", str(world.ids["task_id"])).replace("<int:delivery_id>", "1")
        path = (
            path.replace("^", "")
            .replace("(?P<invite_id>[0-9]+)", "1")
            .replace("(?P<answer>accept|decline)/?$", "accept")
        )

        response = getattr(_client(world, role), method.lower())(path, {}, format="json")

        assert response.status_code == 401, (role, method, path, response.content[:200])
