"""Session-scoped pytest fixtures for the engines: import them into a conftest.py
(`from tests.engines.fixtures import redis_cluster  # noqa: F401`). Each engine starts once
per test session, when a test first asks for it, and stops at the end of the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.engines.pgbouncer import PgBouncerEngine, running_pgbouncer
from tests.engines.redis_cluster import RedisClusterEngine, running_redis_cluster
from tests.engines.redis_sentinel import RedisSentinelEngine, running_redis_sentinel

# The tests' own PostgreSQL, as DATABASE_URL names it (what PgBouncer stands in front of).
UPSTREAM_DATABASE_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow"


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterEngine]:
    """Three Redis Cluster masters; `.url` is the seed for REDIS_CLUSTER_URL."""
    with running_redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelEngine]:
    """A primary, a replica and three Sentinels; `.env()` is REDIS_SENTINELS and
    REDIS_SENTINEL_MASTER; `.failover()` moves the primary."""
    with running_redis_sentinel(tmp_path_factory.mktemp("redis-sentinel")) as sentinel:
        yield sentinel


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncerEngine]:
    """PgBouncer in transaction mode in front of the tests' PostgreSQL; `.url(name)` is a
    DATABASE_URL through it."""
    with running_pgbouncer(UPSTREAM_DATABASE_URL) as bouncer:
        yield bouncer
