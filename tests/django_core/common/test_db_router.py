"""The optional read replica (common.db_router) and read your writes (common.read_your_writes):
list endpoints that opt in read from the replica, unless their user wrote within
REPLICA_PIN_SECONDS; writes, transactions and everything else use the primary; without
DATABASE_REPLICA_URL nothing changes.

The replica here is a second alias on the same test database, set up as Django's test runner
sets up a TEST MIRROR. It is a connection of its own, so it does not see what a test writes in
its (uncommitted) transaction on the primary: just what a replica that has not caught up yet
looks like. A list that comes back empty was read from the replica.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from common.db_router import REPLICA, ReplicaRouter, replica_reads
from common.read_your_writes import replica_pin_key, user_pin, user_pinned
from common.redis import redis_client
from tasks.models import Task
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"
BOTH = pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA])

SETTINGS_PROBE = """
import json
import config.settings as s
replica = s.DATABASES.get("replica")
print(json.dumps({
    "aliases": sorted(s.DATABASES),
    "routers": getattr(s, "DATABASE_ROUTERS", []),
    "middleware": [m for m in s.MIDDLEWARE if "read_your_writes" in m],
    "replica": replica and {k: replica[k] for k in ("ENGINE", "HOST", "PORT", "USER", "NAME", "TEST")},
    "same_options": replica is not None and replica["OPTIONS"] == s.DATABASES["default"]["OPTIONS"],
    "pin_seconds": s.REPLICA_PIN_SECONDS,
}))
"""


def settings_with(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_REPLICA_URL", "REPLICA_PIN_SECONDS")}
    completed = subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE],
        cwd=DJANGO_CORE,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


# --- Without a replica (these run before the module's replica alias exists) --------------------


def test_without_database_replica_url_nothing_changes() -> None:
    configured = settings_with()

    assert configured["aliases"] == ["default"]
    assert configured["routers"] == []
    assert configured["middleware"] == []
    assert configured["pin_seconds"] == 5.0


@pytest.mark.django_db
def test_without_a_replica_an_opted_in_list_neither_reads_it_nor_asks_redis(user: User) -> None:
    redis_client().set(replica_pin_key(user.pk), 1)  # would keep it on the primary anyway

    with replica_reads(user) as from_replica:
        assert from_replica is False
        assert ReplicaRouter().db_for_read(Task) == DEFAULT_DB_ALIAS


def test_database_replica_url_adds_the_alias_router_and_middleware() -> None:
    configured = settings_with(
        DATABASE_REPLICA_URL="postgres://reader:secret@replica.internal:5433/taskflow", REPLICA_PIN_SECONDS="2.5"
    )

    assert configured["aliases"] == ["default", "replica"]
    assert configured["replica"] == {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "replica.internal",
        "PORT": 5433,
        "USER": "reader",
        "NAME": "taskflow",
        "TEST": {"MIRROR": "default"},
    }
    assert configured["same_options"], "the replica gets the primary's pool and connection options"
    assert configured["routers"] == ["common.db_router.ReplicaRouter"]
    assert configured["middleware"] == ["common.read_your_writes.ReadYourWritesMiddleware"]
    assert configured["pin_seconds"] == 2.5


# --- With a replica ------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=False)
def replica() -> Iterator[None]:
    """The `replica` alias as DATABASE_REPLICA_URL makes it (TEST MIRROR of the primary), the
    router and the middleware, for the rest of this module."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA] = {**primary, "TEST": {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS}}
    connections[REPLICA].creation.set_as_test_mirror(primary)  # what Django's test runner does
    override = override_settings(
        DATABASE_ROUTERS=["common.db_router.ReplicaRouter"],
        MIDDLEWARE=[*settings.MIDDLEWARE, "common.read_your_writes.ReadYourWritesMiddleware"],
    )
    override.enable()
    try:
        yield
    finally:
        override.disable()
        connections[REPLICA].close()
        if hasattr(connections[REPLICA], "close_pool"):
            connections[REPLICA].close_pool()
        del connections.settings[REPLICA]
        if hasattr(connections._connections, REPLICA):
            delattr(connections._connections, REPLICA)


@BOTH
def test_reads_go_to_the_replica_only_inside_an_opted_in_view_for_an_unpinned_user(replica: None) -> None:
    writer, reader = UserFactory(), UserFactory()
    user_pin(user_id=writer.pk)
    router = ReplicaRouter()

    assert router.db_for_read(Task) == DEFAULT_DB_ALIAS  # not opted in
    with replica_reads(reader) as from_replica:
        assert from_replica is True
        assert router.db_for_read(Task) == REPLICA
        assert router.db_for_write(Task) == DEFAULT_DB_ALIAS  # writes: always the primary
        with transaction.atomic():
            # A transaction on the primary sees its own writes only there.
            assert router.db_for_read(Task) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Task) == REPLICA
    with replica_reads(writer) as from_replica:
        assert from_replica is False  # wrote a moment ago: pinned to the primary
        assert router.db_for_read(Task) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Task) == DEFAULT_DB_ALIAS  # the view is over
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "tasks") is True
    assert router.allow_migrate(REPLICA, "tasks") is False


@BOTH
def test_queries_run_on_the_connection_the_router_names(replica: None) -> None:
    reader = UserFactory()

    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
    ):
        with replica_reads(reader):
            # Not committed, so the replica (another connection) does not see the user yet.
            assert User.objects.filter(pk=reader.pk).count() == 0
        assert User.objects.filter(pk=reader.pk).count() == 1

    assert len(on_replica.captured_queries) == 1
    assert len(on_primary.captured_queries) == 1


@BOTH
def test_a_users_write_sends_that_users_list_reads_to_the_primary(
    replica: None, client_for: Callable[[User], APIClient]
) -> None:
    # Given Ada and Bob on a project, with a task the replica has not received yet
    ada, bob = UserFactory(), UserFactory()
    project = ProjectFactory()
    MembershipFactory(project=project, user=ada, role="owner")
    MembershipFactory(project=project, user=bob, role="member")
    earlier = TaskFactory(project=project, reporter=ada)
    as_ada, as_bob = client_for(ada), client_for(bob)

    # The lists are read from the replica: it lags
    assert as_ada.get("/api/tasks").json()["count"] == 0
    assert as_ada.get("/api/projects").json()["count"] == 0

    # When Ada writes (reads do not pin)
    created = as_ada.post("/api/tasks", {"project": project.pk, "title": "Mine"}, format="json")
    assert created.status_code == 201, created.content

    # Then her lists come from the primary: her new task is there, with the one before
    assert {task["title"] for task in as_ada.get("/api/tasks").json()["results"]} == {"Mine", earlier.title}
    assert as_ada.get("/api/projects").json()["count"] == 1
    assert redis_client().pttl(replica_pin_key(ada.pk)) <= settings.REPLICA_PIN_SECONDS * 1000
    # But Bob, who wrote nothing, still reads the replica (the rule is per user)
    assert as_bob.get("/api/tasks").json()["count"] == 0
    # And a task's own page is not a list: always the primary
    task_id = created.json()["id"]
    assert as_bob.get(f"/api/tasks/{task_id}").status_code == 200


@BOTH
def test_the_pin_expires_after_replica_pin_seconds(replica: None, client_for: Callable[[User], APIClient]) -> None:
    ada = UserFactory()
    project = ProjectFactory()
    MembershipFactory(project=project, user=ada, role="owner")
    TaskFactory(project=project, reporter=ada)

    with override_settings(REPLICA_PIN_SECONDS=0.3):
        response = client_for(ada).patch("/api/users/me", {"name": "Ada L."}, format="json")
        assert response.status_code == 200, response.content
        assert user_pinned(user_id=ada.pk)
        assert client_for(ada).get("/api/tasks").json()["count"] == 1  # primary

        time.sleep(0.4)

        assert not user_pinned(user_id=ada.pk)
        assert client_for(ada).get("/api/tasks").json()["count"] == 0  # replica again


@BOTH
def test_only_a_signed_in_users_non_safe_requests_pin(replica: None, client_for: Callable[[User], APIClient]) -> None:
    ada = UserFactory()
    client = client_for(ada)

    client.get("/api/tasks")
    client.options("/api/tasks")
    client.head("/api/projects")
    assert not user_pinned(user_id=ada.pk)

    # A refused write pins too (a write that fails halfway may still have committed a part
    # elsewhere; five seconds on the primary cost little)
    client.post("/api/tasks", {"project": 999_999, "title": "Nowhere"}, format="json")
    assert user_pinned(user_id=ada.pk)

    # Signing in is a POST without a signed-in user: nobody to pin
    other = UserFactory()
    APIClient().post("/api/auth/login", {"email": other.email, "password": "wrong-password"}, format="json")
    assert not user_pinned(user_id=other.pk)


@BOTH
def test_with_redis_down_reads_stay_on_the_primary(replica: None) -> None:
    reader = UserFactory()
    closed_port = _closed_port()
    redis_client.cache_clear()
    try:
        with override_settings(
            REDIS_URL=f"redis://127.0.0.1:{closed_port}/0", REDIS_CLUSTER_URL="", REDIS_SENTINELS=""
        ):
            assert user_pinned(user_id=reader.pk) is True
            with replica_reads(reader) as from_replica:
                assert from_replica is False
            redis_client.cache_clear()
    finally:
        redis_client.cache_clear()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
