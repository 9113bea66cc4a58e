"""The Redis holding the realtime data (events, history, presence, tickets, the bot's stream,
throttling counters): a single node, a Sentinel-managed primary or a Redis Cluster, as the
environment names it (taskflow_contracts.RedisTopology, docs/scaling.md "Redis"). The Celery
broker is configured apart (CELERY_BROKER_URL)."""

from functools import cache
from typing import Any

from django.conf import settings
from taskflow_contracts import RedisTopology, sync_client

# The settings RedisTopology.from_env reads (config.settings takes them from the environment).
TOPOLOGY_SETTINGS = (
    "REDIS_URL",
    "REDIS_CLUSTER_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_PASSWORD",
)


def redis_topology() -> RedisTopology:
    """The topology the settings name: Cluster, else Sentinel, else a single node."""
    return RedisTopology.from_env({name: getattr(settings, name, "") or "" for name in TOPOLOGY_SETTINGS})


@cache
def redis_client() -> Any:
    """The process-wide client (`redis.Redis`, Sentinel's primary, or `redis.RedisCluster`; each
    pools its connections); every call times out quickly so a Redis outage never hangs a request.
    Every multi-key command and script keeps to one hash slot, so callers need not know which."""
    return sync_client(
        redis_topology(),
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )
