"""Helpers for the delivery fault tests: Redis pointed elsewhere, the relay run once or as a real
process, and what a recipient's stream and channel hold. Real PostgreSQL and Redis throughout;
an outage is simulated by pointing the publisher at a dead (or silent) port, never by stopping
the machine's Redis."""

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from notifications import publisher
from taskflow_contracts.redis_layout import tagged_user_stream

from common.redis import redis_client

# The engines of tests/engines, each started when a test first asks for it.
from tests.engines.fixtures import pgbouncer, redis_cluster, redis_sentinel  # noqa: F401

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"


DEAD_REDIS_URL = "redis://127.0.0.1:1/0"


def publisher_reset() -> None:
    """Forget the fast path's pause."""
    publisher.fast_path_resume()


@pytest.fixture(autouse=True)
def _clean_redis_and_publisher() -> Iterator[None]:
    """Every test starts with an empty private Redis database and a fresh publisher, and leaves
    none of its state behind."""
    publisher_reset()
    redis_client.cache_clear()
    redis_client().flushdb()
    yield
    redis_client.cache_clear()
    publisher_reset()


@contextmanager
def redis_at(url: str, **more_settings: Any) -> Iterator[None]:
    """The publisher talks to the single Redis node at `url` inside the block (whatever topology
    the tests run on); the real one again afterwards (the fast path's pause, if one began, runs
    its course)."""
    redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL=url, REDIS_CLUSTER_URL="", REDIS_SENTINELS="", **more_settings):
            yield
    finally:
        redis_client.cache_clear()


@pytest.fixture
def silent_redis_url() -> Iterator[str]:
    """A port that accepts connections and never answers: a hung Redis (every call times out)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        server.close()


def relay_once(timeout: float = 30.0) -> int:
    """`manage.py outbox_relay --once --grace 0`, again until the relay has passed every row;
    how many rows it passed in all. (A pass passes only rows whose transactions are all over, and
    any writing transaction on the shared PostgreSQL server may hold that back for a moment.)"""
    deadline = time.monotonic() + timeout
    passed = 0
    while True:
        out = io.StringIO()
        call_command("outbox_relay", "--once", "--grace", "0", stdout=out)
        words = out.getvalue().split()
        assert words[0] == "published", out.getvalue()
        passed += int(words[1])
        if publisher.outbox_unpublished_count() == 0 or time.monotonic() > deadline:
            return passed
        time.sleep(0.05)


def stream_entries(user_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(cursor, UserMessage) for every entry of the user's history stream, oldest first."""
    return [
        (cursor.decode(), json.loads(fields[b"m"]))
        for cursor, fields in redis_client().xrange(tagged_user_stream(user_id))
    ]


def stream_event_ids(user_id: int) -> list[str]:
    return [message["event"]["id"] for _, message in stream_entries(user_id)]


def database_url() -> str:
    """The URL of the database the test runs against (the test database, inside a test)."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{credentials}@" if credentials else ""
    return f"postgres://{host}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def django_process_env(**overrides: str) -> dict[str, str]:
    """The environment of a django-core process that shares this test's database and Redis."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": "2",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_CLUSTER_URL": settings.REDIS_CLUSTER_URL,
        "REDIS_SENTINELS": settings.REDIS_SENTINELS,
        "REDIS_SENTINEL_MASTER": settings.REDIS_SENTINEL_MASTER,
        "OUTBOX_SETTLE": str(settings.OUTBOX_SETTLE),
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


@pytest.fixture
def child_env() -> Callable[..., dict[str, str]]:
    return django_process_env


def run_python(code: str, *args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter inside django-core."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=DJANGO_CORE, env=env, capture_output=True, text=True, timeout=timeout
    )
