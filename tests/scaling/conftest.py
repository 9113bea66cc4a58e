"""One TaskFlow stack per Redis engine (a Redis Cluster of three masters; Sentinel), each with
PostgreSQL behind PgBouncer in transaction mode (everything, migrations included, goes through
it), started when a test first needs it and stopped before the next one starts (the
`scaling_stack` fixture is parametrized, so pytest runs each stack's tests together).

Its own database (`<DATABASE_TEST_NAME>_scaling`, created and dropped), its own Redis database on
the shared single node for the Celery broker (REDIS_TEST_DB, default 11; never 0; emptied
first), and user ids from 800,000,000 + that index x 1,000,000, which no other suite uses (Redis
pub/sub channels are shared by every database). Run in one process:
`pytest -m scaling -p no:xdist`."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from taskflow_contracts.redis_topology import RedisTopology, sync_client

from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import KEY_DIR, REPO_DIR, Stack, free_port, running_stack
from tests.engines.fixtures import pgbouncer, redis_cluster, redis_sentinel  # noqa: F401
from tests.engines.pgbouncer import PgBouncerEngine
from tests.engines.redis_sentinel import RedisSentinelEngine

ENGINES = ("cluster", "sentinel")
REDIS_INDEX = int(os.environ.get("REDIS_TEST_DB") or 11)
USER_ID_START = 800_000_000 + REDIS_INDEX * 1_000_000
# Quick enough for a test: the outbox relay walks every 0.2 s (the stack's setting) and delivers
# a board event still waiting for a predecessor after 3 s (a predecessor lost in a failover), and
# asks Redis again about a delivered row after 10 s instead of 20 (OUTBOX_SETTLE): what a demoted
# primary dropped after a switch-over (done marker included) is delivered again by then, within
# the tests' 20 s waits for a live event; still longer than the demoted primary takes writes.
STACK_ENV = {"OUTBOX_FORCE_AFTER": "3", "OUTBOX_SETTLE": "10"}


@dataclass
class EngineStack:
    """The stack on one Redis engine and PgBouncer, and those engines."""

    engine: str
    stack: Stack
    topology: RedisTopology
    pgbouncer: PgBouncerEngine
    sentinel: RedisSentinelEngine | None = None

    def realtime_redis(self) -> Any:
        """A client of the Redis holding the realtime data, as the services reach it."""
        return sync_client(self.topology, decode_responses=True, socket_timeout=5)


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink(free_port()).start()
    yield sink
    sink.stop()


def _empty(topology: RedisTopology) -> None:
    """The engines are the suite's own: whatever an earlier test left there goes."""
    client = sync_client(topology, socket_timeout=5)
    try:
        if topology.mode == "cluster":
            client.flushall(target_nodes=client.PRIMARIES)
        else:
            client.flushdb()
    finally:
        client.close()


@pytest.fixture(scope="session", params=ENGINES)
def scaling_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mail_sink: MailSink
) -> Iterator[EngineStack]:
    assert not os.environ.get("PYTEST_XDIST_WORKER"), "the scaling suite starts servers: run it with -p no:xdist"
    assert REDIS_INDEX != 0, "the scaling suite never uses Redis database 0"
    if not (KEY_DIR / "jwt_private.pem").is_file():
        subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "jwt_keys.py")], check=True)
    engine = request.param
    name = f"{os.environ.get('DATABASE_TEST_NAME') or 'test_taskflow'}_scaling"
    redis_url = f"redis://{urlsplit(os.environ.get('REDIS_URL') or 'redis://127.0.0.1:6379/0').netloc}/{REDIS_INDEX}"
    extra_env = {
        **STACK_ENV,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(mail_sink.port),
        "EMAIL_TIMEOUT": "5",
    }
    sentinel = None
    if engine == "cluster":
        extra_env["REDIS_CLUSTER_URL"] = request.getfixturevalue("redis_cluster").url
    else:
        sentinel = request.getfixturevalue("redis_sentinel")
        extra_env.update(sentinel.env())
    bouncer = request.getfixturevalue("pgbouncer")
    topology = RedisTopology.from_env({"REDIS_URL": redis_url, **extra_env})
    _empty(topology)
    with running_stack(
        tmp_path_factory.mktemp(f"scaling-{engine}"),
        database_url=bouncer.url(name),
        redis_url=redis_url,
        user_id_start=USER_ID_START,
        extra_env=extra_env,
    ) as stack:
        yield EngineStack(engine, stack, topology, bouncer, sentinel=sentinel)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failing test shows the tail of every process's log, and the engine's."""
    report = yield
    started = getattr(item, "funcargs", {}).get("scaling_stack")
    if report.failed and isinstance(started, EngineStack):
        report.sections.append((f"stack logs ({started.engine})", started.stack.logs()))
        for engine in (started.sentinel, started.pgbouncer):
            if engine is not None:
                with contextlib.suppress(Exception):
                    report.sections.append((f"{started.engine} logs", engine.logs()))
    return report
