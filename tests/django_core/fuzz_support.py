"""State and plumbing for the schema-driven fuzz test (tests/django_core/test_api_fuzz.py).

The fuzzer talks to the in-process WSGI application (`config.wsgi.application`) inside the test
transaction that pytest-django opens, so these things are arranged here:

- the world (`build_fuzz_world`): a real user with real objects around them (an owned project with
  tasks, comments, a member, a viewer and a pending invite; a project where the user is a viewer;
  a project the user is outside of, with an invite addressed to the user), under fixed ids, and
  the values (ids, emails, passwords, tokens) the fuzzer mixes into what it generates;
- `requests_keep_test_connection`: Django closes the database connection at the end of every
  request (`close_old_connections`), which would end the test transaction ("Cannot open a new
  connection in an atomic block" on the next request); Django's own test client disconnects that
  signal around each of its requests and so do we, for the whole test;
- `example_rolled_back`: each generated request runs in a savepoint that is rolled back, so the
  writes of one example (a deleted project, a changed password, a blacklisted refresh token, an
  accepted invite) never change what the next one sees;
- `error_body_problem`: the API's error contract (DESIGN.md, "HTTP API").
"""

import copy
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import User
from accounts.services import token_pair_for
from projects.models import Invite, Role
from projects.services import invite_create
from telegram.services import telegram_bot_register
from tests.django_core.factories import (
    DEFAULT_PASSWORD,
    CommentFactory,
    MembershipFactory,
    ProjectFactory,
    TaskFactory,
    UserFactory,
)

# The world's rows get fixed primary keys, far above anything the sequences reach in a test run,
# so that the OpenAPI document can name them as examples when the fuzz tests are collected (the
# schemathesis pytest plugin builds one test per operation from the schema before any fixture runs).
OWNER_ID, MEMBER_ID, VIEWER_COLLEAGUE_ID, OUTSIDER_ID = 7_000_001, 7_000_002, 7_000_003, 7_000_004
OWNED_PROJECT_ID, VIEWER_PROJECT_ID, FOREIGN_PROJECT_ID = 7_000_101, 7_000_102, 7_000_103
OWNED_TASK_IDS = (7_000_201, 7_000_202, 7_000_203)
VIEWER_TASK_ID, FOREIGN_TASK_ID = 7_000_204, 7_000_205
OUTBOUND_INVITE_ID, INCOMING_INVITE_ID = 7_000_301, 7_000_302
# The emailed token of the invite addressed to the user (normally random; known here).
INCOMING_INVITE_TOKEN = "fuzz-invite-token-0123456789abcdefghijklmnopqrstuv"
# The user's refresh token is minted per test; requests carry this stand-in until the test swaps
# it for the real one (test_api_fuzz.test_api_fuzz).
REFRESH_TOKEN_STAND_IN = "fuzz-world-refresh-token"

PROJECT_IDS = [OWNED_PROJECT_ID, VIEWER_PROJECT_ID, FOREIGN_PROJECT_ID]
TASK_IDS = [*OWNED_TASK_IDS, VIEWER_TASK_ID, FOREIGN_TASK_ID]
USER_IDS = [OWNER_ID, MEMBER_ID, VIEWER_COLLEAGUE_ID, OUTSIDER_ID]
INVITE_IDS = [INCOMING_INVITE_ID, OUTBOUND_INVITE_ID]

# Real values for path parameters, query parameters and JSON body properties, by name: besides
# its own values the fuzzer uses these, so that requests reach real rows, not only random ids.
PATH_VALUES: dict[str, list[Any]] = {
    "project_id": PROJECT_IDS,
    "task_id": TASK_IDS,
    "user_id": USER_IDS,
    "invite_id": INVITE_IDS,
}
QUERY_VALUES: dict[str, list[Any]] = {
    "project": PROJECT_IDS,
    "assignee": [str(pk) for pk in USER_IDS] + ["me", "none"],
    "status": ["todo", "in_progress,done"],
    "ordering": ["priority", "-status,deadline", "title"],
}
OWNER_EMAIL = "fuzz-owner@example.com"
MEMBER_EMAIL = "fuzz-member@example.com"
OUTBOUND_INVITE_EMAIL = "fuzz-invitee@example.com"
BODY_VALUES: dict[str, list[Any]] = {
    "project": PROJECT_IDS,
    "assignee": [*USER_IDS, None],
    "email": [OWNER_EMAIL, MEMBER_EMAIL, OUTBOUND_INVITE_EMAIL, "newcomer@example.com"],
    "password": [DEFAULT_PASSWORD],
    "current_password": [DEFAULT_PASSWORD],
    "refresh": [REFRESH_TOKEN_STAND_IN],
    "token": [INCOMING_INVITE_TOKEN],
}

# A JSON request body per operation id that reaches the world's rows (valid, mostly).
BODY_EXAMPLES: dict[str, dict[str, Any]] = {
    "auth_register_create": {"email": "fresh@example.com", "password": "a long passphrase", "name": "Fresh"},
    "auth_login_create": {"email": OWNER_EMAIL, "password": DEFAULT_PASSWORD},
    "auth_refresh_create": {"refresh": REFRESH_TOKEN_STAND_IN},
    "auth_logout_create": {"refresh": REFRESH_TOKEN_STAND_IN},
    "users_me_partial_update": {"name": "Renamed", "language": "ru", "timezone": "Europe/Berlin"},
    "users_me_password_create": {"current_password": DEFAULT_PASSWORD, "new_password": "another long passphrase"},
    "invites_accept_by_token": {"token": INCOMING_INVITE_TOKEN},
    "projects_create": {"name": "New", "description": "Made by the fuzzer"},
    "projects_partial_update": {"name_ru": "Проект", "description": ""},
    "projects_invites_create": {"email": "newcomer@example.com", "role": "admin"},
    "projects_members_partial_update": {"role": "admin"},
    "tasks_create": {
        "project": OWNED_PROJECT_ID,
        "title": "From the fuzzer",
        "assignee": MEMBER_ID,
        "deadline": "2030-01-01T12:00:00+01:00",
        "priority": "urgent",
    },
    "tasks_partial_update": {"status": "done", "assignee": MEMBER_ID, "title_ru": "Задача"},
    "tasks_comments_create": {"body": "A comment from the fuzzer"},
}


@dataclass(frozen=True)
class FuzzWorld:
    user: User
    access: str
    refresh: str


def build_fuzz_world() -> FuzzWorld:
    """The fuzzed user with real objects around them, made with the project's factories and services:
    an owned project with a member, a viewer, tasks, comments and a pending invite; a project where
    the user is a viewer; a project the user is outside of, whose owner has invited the user."""
    user = UserFactory(id=OWNER_ID, email=OWNER_EMAIL, name="Fuzz Owner")
    member = UserFactory(id=MEMBER_ID, email=MEMBER_EMAIL, name="Fuzz Member")
    viewer_colleague = UserFactory(id=VIEWER_COLLEAGUE_ID, name="Fuzz Viewer")
    outsider = UserFactory(id=OUTSIDER_ID, name="Fuzz Outsider")

    owned = ProjectFactory(id=OWNED_PROJECT_ID, name="Fuzz owned")
    MembershipFactory(project=owned, user=user, role=Role.OWNER)
    MembershipFactory(project=owned, user=member, role=Role.MEMBER)
    MembershipFactory(project=owned, user=viewer_colleague, role=Role.VIEWER)
    first, second, _third = (
        TaskFactory(id=OWNED_TASK_IDS[0], project=owned, reporter=user, assignee=user),
        TaskFactory(id=OWNED_TASK_IDS[1], project=owned, reporter=member, assignee=member, status="in_progress"),
        TaskFactory(id=OWNED_TASK_IDS[2], project=owned, reporter=user, status="done", priority="urgent"),
    )
    CommentFactory(task=first, author=user, body="First")
    CommentFactory(task=first, author=member, body="Second")
    CommentFactory(task=second, author=member, body="Third")
    outbound = invite_create(project=owned, actor=user, email=OUTBOUND_INVITE_EMAIL, role=Role.MEMBER).invite
    _renumber(outbound, OUTBOUND_INVITE_ID)

    viewed = ProjectFactory(id=VIEWER_PROJECT_ID, name="Fuzz viewed")
    MembershipFactory(project=viewed, user=outsider, role=Role.OWNER)
    MembershipFactory(project=viewed, user=user, role=Role.VIEWER)
    viewer_task = TaskFactory(id=VIEWER_TASK_ID, project=viewed, reporter=outsider)
    CommentFactory(task=viewer_task, author=outsider)

    foreign = ProjectFactory(id=FOREIGN_PROJECT_ID, name="Fuzz foreign")
    MembershipFactory(project=foreign, user=outsider, role=Role.OWNER)
    TaskFactory(id=FOREIGN_TASK_ID, project=foreign, reporter=outsider)
    incoming = invite_create(project=foreign, actor=outsider, email=user.email, role=Role.MEMBER).invite
    _renumber(incoming, INCOMING_INVITE_ID, token_hash=hashlib.sha256(INCOMING_INVITE_TOKEN.encode()).hexdigest())

    # A deployment with its Telegram bot running (it reported its username at start-up).
    telegram_bot_register(username="taskflow_fuzz_bot")

    pair = token_pair_for(user)
    return FuzzWorld(user=user, access=pair.access, refresh=pair.refresh)


def _renumber(invite: Invite, pk: int, **changes: Any) -> None:
    """Gives an invite made by the service its fixed id (and other fixed values)."""
    Invite.objects.filter(pk=invite.pk).update(id=pk, **changes)


def schema_with_examples(
    raw_schema: dict[str, Any],
    path_values: dict[str, list[Any]] = PATH_VALUES,
    body_examples: dict[str, dict[str, Any]] = BODY_EXAMPLES,
) -> dict[str, Any]:
    """A copy of the OpenAPI document with the world's ids as path parameter examples and
    request bodies that reach them, so the examples and coverage phases start from real rows."""
    schema = copy.deepcopy(raw_schema)
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for parameter in operation.get("parameters", []):
                values = path_values.get(parameter["name"]) if parameter["in"] == "path" else None
                if values:
                    parameter["examples"] = {f"real{i}": {"value": value} for i, value in enumerate(values)}
            body = body_examples.get(operation.get("operationId", ""))
            content = operation.get("requestBody", {}).get("content", {})
            if body is not None and "application/json" in content:
                content["application/json"]["examples"] = {"real": {"value": body}}
    return schema


@contextmanager
def requests_keep_test_connection() -> Iterator[None]:
    """Stops Django from closing the database connection at request boundaries while inside,
    as django.test.Client does around each of its requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def example_rolled_back() -> Iterator[None]:
    """Runs one generated request in a savepoint that is always rolled back."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


def error_body_problem(status_code: int, content_type: str, content: bytes) -> str | None:
    """Why an error response breaks the API's error contract (DESIGN.md: JSON, `{"detail", "code"}`
    or field errors `{"field": ["msg"]}`), or None when it keeps it."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        return f"{status_code} with Content-Type {content_type or '(none)'!r}, not JSON: {content[:200]!r}"
    try:
        body = json.loads(content)
    except ValueError:
        return f"{status_code} with a body that is not valid JSON: {content[:200]!r}"
    if not isinstance(body, dict) or not body:
        return f"{status_code} with a JSON body that is not a non-empty object: {body!r}"
    if "detail" in body or "code" in body:
        if "detail" not in body or not isinstance(body.get("code"), str):
            return f'{status_code} with "detail" but no string "code" (or the reverse): {body!r}'
        return None
    if not all(_is_field_error(value) for value in body.values()):
        return f"{status_code} with neither detail+code nor field errors: {body!r}"
    return None


def _is_field_error(value: Any) -> bool:
    # A field maps to its messages; a nested serializer maps to a dict of the same shape.
    if isinstance(value, list):
        return bool(value) and all(isinstance(item, str) or _is_field_error(item) for item in value)
    if isinstance(value, dict):
        return bool(value) and all(_is_field_error(item) for item in value.values())
    return False


def json_error_body(ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx/5xx answers JSON in the API's error shape, never HTML or an empty body."""
    if response.status_code < 400:
        return
    content_type = (response.headers.get("content-type") or [""])[0]
    problem = error_body_problem(response.status_code, content_type, response.content)
    if problem is not None:
        raise AssertionError(problem)


def response_schema_conformance_2xx(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """The documented response schema, checked for successful responses only."""
    if 200 <= response.status_code < 300:
        return response_schema_conformance(ctx, response, case)
    return None


CHECKS = [not_a_server_error, json_error_body, response_schema_conformance_2xx]
