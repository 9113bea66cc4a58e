"""Which Redis django-core uses (common.redis, from the settings the environment sets): a single
node, a Sentinel-managed primary or a Cluster; and the Celery broker, configured apart."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.sentinel import SentinelConnectionPool

from common.redis import redis_client, redis_topology

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"
TOPOLOGY = ("REDIS_URL", "REDIS_CLUSTER_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "CELERY_BROKER_URL")


def settings_of(*names: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Imports config.settings in a fresh interpreter with `environment` (and none of the
    topology variables of this one's) and prints the settings `names`, one a line."""
    env = {k: v for k, v in os.environ.items() if k not in TOPOLOGY and not k.startswith("CELERY_")}
    env.update(environment)
    code = "import config.settings as s\n" + "".join(f"print(s.{name})\n" for name in names)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=DJANGO_CORE, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def fresh_client():
    redis_client.cache_clear()
    yield
    redis_client.cache_clear()


def test_a_single_node_by_default(settings, fresh_client):
    settings.REDIS_CLUSTER_URL = settings.REDIS_SENTINELS = ""

    assert redis_topology().mode == "single"
    assert redis_client().ping()
    assert redis_client().connection_pool.connection_kwargs["db"] == int(settings.REDIS_URL.rsplit("/", 1)[1])


def test_sentinels_name_the_primary_whose_database_and_password_come_from_redis_url(settings, fresh_client):
    settings.REDIS_SENTINELS = "127.0.0.1:26379, [::1]:26380"
    settings.REDIS_SENTINEL_MASTER = "taskflow"
    settings.REDIS_URL = "redis://:secret@ignored:6379/5"

    client = redis_client()  # (Sentinel is asked for the primary at the first command)

    assert redis_topology().mode == "sentinel"
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "taskflow"
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (5, "secret")
    assert [sentinel.connection_pool.connection_kwargs["host"] for sentinel in pool.sentinel_manager.sentinels] == [
        "127.0.0.1",
        "::1",
    ]


def test_a_cluster_url_wins_over_the_others(settings):
    settings.REDIS_CLUSTER_URL = "redis://node-1:7000"
    settings.REDIS_SENTINELS = "127.0.0.1:26379"

    assert redis_topology().mode == "cluster"
    assert redis_topology().url == "redis://node-1:7000"


def test_sentinels_without_a_primary_name_are_refused_at_start():
    result = settings_of("REDIS_URL", REDIS_SENTINELS="127.0.0.1:26379")

    assert result.returncode != 0
    assert "REDIS_SENTINEL_MASTER must name the primary" in result.stderr


def test_the_broker_is_redis_url_unless_set_apart():
    result = settings_of("CELERY_BROKER_URL", REDIS_URL="redis://data:6379/2", REDIS_CLUSTER_URL="redis://node:7000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["redis://data:6379/2"]

    result = settings_of("CELERY_BROKER_URL", CELERY_BROKER_URL="redis://broker:6379/0")
    assert result.stdout.split() == ["redis://broker:6379/0"]


def test_a_sentinel_broker_gets_the_primarys_name_as_kombus_master_name():
    broker = "sentinel://s1:26379/0;sentinel://s2:26379/0"

    named = settings_of(
        "CELERY_BROKER_TRANSPORT_OPTIONS['master_name']", CELERY_BROKER_URL=broker, REDIS_SENTINEL_MASTER="taskflow"
    )
    own = settings_of(
        "CELERY_BROKER_TRANSPORT_OPTIONS['master_name']",
        CELERY_BROKER_URL=broker,
        CELERY_BROKER_SENTINEL_MASTER="jobs",
    )
    unnamed = settings_of("CELERY_BROKER_URL", CELERY_BROKER_URL=broker)

    assert named.stdout.split() == ["taskflow"], named.stderr
    assert own.stdout.split() == ["jobs"], own.stderr
    assert unnamed.returncode != 0
    assert "set CELERY_BROKER_SENTINEL_MASTER" in unnamed.stderr
