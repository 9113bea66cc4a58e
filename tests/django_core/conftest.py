import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_pair_for
from projects.models import Membership, Project, Role
from tests.django_core.factories import MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db: None) -> Callable[[User], APIClient]:
    """An API client authenticated as the given user with a real access token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user).access}")
        return client

    return make


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def member_of(db: None) -> Callable[..., Membership]:
    """Adds a user to a project with a role."""

    def make(user: User, project: Project, role: Role = Role.MEMBER) -> Membership:
        return MembershipFactory(user=user, project=project, role=role)

    return make


@pytest.fixture
def team(db: None) -> dict[str, object]:
    """A project with one user per role, plus an outsider who owns a project of their own."""
    project = ProjectFactory()
    people = {role.value: UserFactory(name=str(role.label)) for role in Role}
    for role, person in people.items():
        MembershipFactory(project=project, user=person, role=role)
    outsider = UserFactory(name="Outsider")
    other_project = ProjectFactory()
    MembershipFactory(project=other_project, user=outsider, role=Role.OWNER)
    return {"project": project, **people, "outsider": outsider, "other_project": other_project}


@pytest.fixture(autouse=True)
def _english_between_tests():
    """A request leaves its language active in the thread; start and end every test in English
    so factories and fixtures never write into another language's columns."""
    translation.activate("en")
    yield
    translation.activate("en")


@pytest.fixture(scope="session", autouse=True)
def _private_redis_database() -> None:
    """Each test process gets its own Redis database (real Redis, never a fake), emptied first, so
    parallel runs never see each other's streams and keys. REDIS_TEST_DB pins it (one process
    only: xdist workers pinned to one database would empty each other's).

    Pub/sub channels are NOT per database: see _disjoint_user_ids for why `user:{id}` channels
    still never cross between processes."""
    from django.conf import settings

    from common.redis import redis_client

    index = _test_process_number()
    settings.REDIS_URL = f"redis://{urlsplit(settings.REDIS_URL).netloc}/{index}"
    redis_client.cache_clear()
    redis_client().flushdb()
    # The Celery broker (the outbox relay enqueues mail tasks) lives in the same private database.
    from config.celery import app as celery_app

    settings.CELERY_BROKER_URL = settings.REDIS_URL
    celery_app.conf.broker_url = settings.REDIS_URL


@pytest.fixture(autouse=True)
def _relay_settles_at_once(settings: Any) -> None:
    """The outbox relay's watermark passes a delivered row at once (OUTBOX_SETTLE 0), not 20 s
    later: what the tests of settling need they set themselves."""
    settings.OUTBOX_SETTLE = 0


@pytest.fixture(autouse=True)
def _fresh_throttle_counters() -> None:
    """Failed-login and rate-limit counters (common.throttling) outlive a test's rollback: each
    test starts with none, so earlier tests' sign-ins never throttle this one's."""
    from common.redis import redis_client
    from common.throttling import KEY_PREFIX

    client = redis_client()
    keys = client.keys(f"{KEY_PREFIX}*")
    if keys:
        client.delete(*keys)


def _test_process_number() -> int:
    """REDIS_TEST_DB, else 1 + the xdist worker's number (`gw3` → 4; 1 without xdist, which
    `-p no:xdist` leaves without its `worker_id` fixture)."""
    pinned = os.environ.get("REDIS_TEST_DB")
    if pinned:
        return int(pinned)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return 1 + (int(worker[2:]) if worker.startswith("gw") else 0)


@pytest.fixture(scope="session", autouse=True)
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """User ids start at a different million in every test process (and in every separately run
    session, by REDIS_TEST_DB): Redis pub/sub channels are shared by all databases, so two
    processes' `user:{id}` channels must never share an id."""
    if connection.settings_dict["NAME"] != connection.settings_dict["TEST"]["NAME"]:
        return  # no test of this session uses the database: pytest-django created none
    offset = _test_process_number()
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s, false)", [offset * 1_000_000 + 1]
        )
