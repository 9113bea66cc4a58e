"""`GET /ws/health` (Redis reachable and subscribed on every link, socket counts), its operators'
version `GET /ws/internal/health` (plus this instance's id, the Redis topology and each link by
host:port) and `GET /ws/metrics` (Prometheus text format). All describe this process only.

The gateway routes `/ws/health` to anyone, so its body holds fixed words and counts, never a
host name, a port or an error's text; it answers `/ws/internal/*` and `/ws/metrics` with 404
(gateway/nginx.conf.template): scrape and inspect those on the relay's own port."""

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime_relay.deps import HubDep, MetricsDep, RedisDep, RelayDep
from realtime_relay.hub import Hub
from realtime_relay.relay import Relay

router = APIRouter()

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def _public_health(relay: Relay, redis: Redis, hub: Hub) -> tuple[bool, dict[str, Any]]:
    try:
        async with relay.redis_slots:
            await asyncio.wait_for(redis.ping(), timeout=1.0)
        redis_ok = True
    except (RedisError, OSError, TimeoutError):
        redis_ok = False
    subscribed = relay.subscriber.connected
    healthy = redis_ok and subscribed
    return healthy, {
        "status": "ok" if healthy else "unavailable",
        "checks": {
            "redis": "ok" if redis_ok else "unavailable",
            "subscription": "ok" if subscribed else "reconnecting",
        },
        "connections": hub.connection_count,
        "users": hub.user_count,
    }


@router.get("/ws/health")
async def health(relay: RelayDep, redis: RedisDep, hub: HubDep) -> JSONResponse:
    healthy, body = await _public_health(relay, redis, hub)
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/ws/internal/health")
async def internal_health(relay: RelayDep, redis: RedisDep, hub: HubDep) -> JSONResponse:
    healthy, body = await _public_health(relay, redis, hub)
    body |= {
        "instance": relay.instance,
        "redis": relay.settings.topology.describe(),
        # The pub/sub connections: `primary`, or one per Cluster primary (host:port), and whether each is up.
        "links": relay.subscriber.links,
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/ws/metrics")
async def metrics(relay: RelayDep, hub: HubDep, counters: MetricsDep) -> PlainTextResponse:
    text = counters.render(connections=hub.connection_count, users=hub.user_count, redis_up=relay.subscriber.connected)
    return PlainTextResponse(text, media_type=PROMETHEUS_TEXT)
