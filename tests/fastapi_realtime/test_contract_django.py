"""Contract with django-core, end to end: what Django publishes after a commit (DELIVER_LUA per
recipient, SPUBLISH on `user:{7}`) arrives on the relay's sockets as a valid envelope; a ticket
Django signs opens a socket; a logout closes it.

django-core publishes to `settings.REDIS_URL`; here it is pointed at the relay's test database
(tests/django_core/conftest.py does not apply to this folder)."""

import json

import pytest
from notifications import publisher
from rest_framework.test import APIClient
from taskflow_contracts import Actor, NotificationPayload, event_from_json
from taskflow_contracts.redis_layout import tagged_user_stream

from accounts.services import token_pair_for
from common.redis import redis_client as django_redis
from projects.models import Role
from tests.django_core.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.fastapi_realtime.support import new_user_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def django_on_relay_redis(settings, redis_url):
    """django-core publishes into the Redis database the relay under test reads."""
    settings.REDIS_URL = redis_url
    django_redis.cache_clear()
    publisher.fast_path_resume()  # an earlier test may have left the fast path paused
    yield
    django_redis.cache_clear()


def _user(**fields):
    # Ids of their own: pub/sub channels span Redis databases, and django-core's tests in a
    # parallel process publish to the small ids their users get.
    return UserFactory(pk=new_user_id(), **fields)


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user).access}")
    return client


def _ticket(user) -> str:
    response = _client(user).post("/api/realtime/ticket")
    assert response.status_code == 201
    return response.json()["ticket"]


def _frame_for_task(sock, task_id: int, event_type: str) -> dict:
    while True:
        frame = sock.recv()
        event = frame.get("event") or {}
        if event.get("type") == event_type and event["data"]["task"]["id"] == task_id:
            return frame


def test_a_task_assigned_through_the_api_reaches_the_assignees_socket(
    relay, sockets, redis_client, django_on_relay_redis, django_capture_on_commit_callbacks
):
    # Given a project with its owner and a member who has the relay open
    owner, assignee = _user(name="Ada"), _user(name="Bob")
    project = ProjectFactory()
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    MembershipFactory(project=project, user=assignee, role=Role.MEMBER)
    sock = sockets.open(relay, _ticket(assignee))  # a ticket Django signed, checked by the relay
    hello = sock.recv()
    assert hello == {"type": "hello", "user_id": assignee.pk, "cursor": hello["cursor"]}

    # When the owner assigns a new task to the member through the API
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(owner).post(
            "/api/tasks", {"project": project.pk, "title": "Ship the relay", "assignee": assignee.pk}, format="json"
        )
    assert response.status_code == 201
    task_id = response.json()["id"]

    # Then the assignee's socket gets the event, a valid envelope of the shared contract
    frame = _frame_for_task(sock, task_id, "task.assigned")
    event = event_from_json(json.dumps(frame["event"]))
    assert event.type == "task.assigned"
    assert event.actor == Actor(id=owner.pk, name="Ada")
    assert event.data.task.title == "Ship the relay"
    assert event.data.assignee.id == assignee.pk
    NotificationPayload.model_validate(frame["notification"])
    # ... whose cursor is the id of the event's entry in the assignee's history
    [cursor] = [
        entry_id
        for entry_id, fields in redis_client.xrange(tagged_user_stream(assignee.pk))
        if json.loads(fields["m"])["event"]["id"] == str(event.id)
    ]
    assert frame["cursor"] == cursor


def test_logging_out_through_the_api_closes_the_users_sockets(
    relay, relay_b, sockets, django_on_relay_redis, django_capture_on_commit_callbacks
):
    user = _user()
    on_a = sockets.open(relay, _ticket(user))
    on_b = sockets.open(relay_b, _ticket(user))
    assert on_a.recv()["type"] == on_b.recv()["type"] == "hello"

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/auth/logout", {"refresh": token_pair_for(user).refresh}, format="json")
    assert response.status_code == 204

    assert on_a.close_code(timeout=1.0) == 4401
    assert on_b.close_code(timeout=1.0) == 4401
