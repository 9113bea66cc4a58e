"""Which Redis the realtime data lives on, read the same way by django-core, the relay and the
bot (DESIGN.md "Growing past one machine", docs/scaling.md):

- `REDIS_URL` (default `redis://127.0.0.1:6379/0`): a single node;
- `REDIS_SENTINELS` (`host:port,host:port`) with `REDIS_SENTINEL_MASTER`: the primary that
  Sentinel names, found again after a failover (database, user and password from `REDIS_URL`,
  `REDIS_SENTINEL_PASSWORD` for the Sentinels themselves when they ask for one);
- `REDIS_CLUSTER_URL` (any node, e.g. `redis://node-1:7000`): a Redis Cluster.

Every multi-key command and script of TaskFlow keeps to one hash slot (`user:{7}`...), so the
same code runs on all three; only the client differs. The Celery broker is not here
(`CELERY_BROKER_URL`: kombu speaks a single node or Sentinel, not Cluster).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

Mode = Literal["single", "sentinel", "cluster"]
DEFAULT_URL = "redis://127.0.0.1:6379/0"
# What RedisTopology.from_env reads: every service that touches realtime data takes these.
TOPOLOGY_VARIABLES = (
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_CLUSTER_URL",
)


@dataclass(frozen=True)
class RedisTopology:
    mode: Mode
    url: str  # the single node's URL; Sentinel: database and credentials; Cluster: a seed node
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    sentinel_password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RedisTopology:
        """The topology the environment names: Cluster, else Sentinel, else a single node."""
        cluster = (env.get("REDIS_CLUSTER_URL") or "").strip()
        if cluster:
            return cls(mode="cluster", url=cluster)
        url = (env.get("REDIS_URL") or "").strip() or DEFAULT_URL
        sentinels = (env.get("REDIS_SENTINELS") or "").strip()
        if sentinels:
            master = (env.get("REDIS_SENTINEL_MASTER") or "").strip()
            if not master:
                raise ValueError("REDIS_SENTINELS is set: REDIS_SENTINEL_MASTER must name the primary")
            return cls(
                mode="sentinel",
                url=url,
                sentinels=parse_sentinels(sentinels),
                master=master,
                sentinel_password=(env.get("REDIS_SENTINEL_PASSWORD") or None),
            )
        return cls(mode="single", url=url)

    def describe(self) -> str:
        """For logs and health output: no password, no host names beyond what the operator set."""
        if self.mode == "cluster":
            return f"cluster (seed {_without_password(self.url)})"
        if self.mode == "sentinel":
            hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"sentinel {self.master} via {hosts}"
        return f"single node {_without_password(self.url)}"


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (IPv6 as `[::1]:26379`) → ((host, port), ...)."""
    found = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_SENTINELS: {item!r} is not host:port")
        found.append((host.strip("[]"), int(port)))
    if not found:
        raise ValueError("REDIS_SENTINELS names no Sentinel")
    return tuple(found)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"


def _url_options(url: str) -> dict[str, Any]:
    """Database, username and password of a redis:// URL, for Sentinel's master_for()."""
    parts = urlsplit(url)
    options: dict[str, Any] = {}
    path = parts.path.lstrip("/")
    if path.isdigit():
        options["db"] = int(path)
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options


def _client(
    topology: RedisTopology, options: dict[str, Any], *, redis_cls: Any, cluster_cls: Any, sentinel_cls: Any
) -> Any:
    """One client for the topology, from redis-py's sync or asyncio classes (the same rules)."""
    if topology.mode == "cluster":
        options.pop("db", None)
        return cluster_cls.from_url(topology.url, **options)
    if topology.mode == "sentinel":
        sentinel_options = {"password": topology.sentinel_password} if topology.sentinel_password else {}
        for name in ("socket_timeout", "socket_connect_timeout"):
            if name in options:
                sentinel_options[name] = options[name]
        sentinel = sentinel_cls(list(topology.sentinels), sentinel_kwargs=sentinel_options)
        return sentinel.master_for(topology.master, **{**_url_options(topology.url), **options})
    return redis_cls.from_url(topology.url, **options)


def sync_client(topology: RedisTopology, **options: Any) -> Any:
    """A redis-py client (`redis.Redis`, Sentinel's primary, or `redis.RedisCluster`) with `options`
    (decode_responses, timeouts, retry...)."""
    import redis
    from redis.cluster import RedisCluster
    from redis.sentinel import Sentinel

    return _client(topology, options, redis_cls=redis.Redis, cluster_cls=RedisCluster, sentinel_cls=Sentinel)


def async_client(topology: RedisTopology, **options: Any) -> Any:
    """The asyncio counterpart of sync_client (redis.asyncio)."""
    from redis import asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.sentinel import Sentinel

    return _client(topology, options, redis_cls=aioredis.Redis, cluster_cls=RedisCluster, sentinel_cls=Sentinel)
