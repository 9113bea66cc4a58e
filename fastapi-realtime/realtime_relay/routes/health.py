"""`GET /ws/health` (Redis reachable and subscribed on every link, socket counts) and `GET /ws/metrics`
(Prometheus text format). Both describe this process only."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from redis.exceptions import RedisError

from realtime_relay.deps import HubDep, MetricsDep, RedisDep, RelayDep

router = APIRouter()

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/ws/health")
async def health(relay: RelayDep, redis: RedisDep, hub: HubDep) -> JSONResponse:
    try:
        async with relay.redis_slots:
            await asyncio.wait_for(redis.ping(), timeout=1.0)
        redis_ok = True
    except (RedisError, OSError, TimeoutError):
        redis_ok = False
    subscribed = relay.subscriber.connected
    healthy = redis_ok and subscribed
    body = {
        "status": "ok" if healthy else "unavailable",
        "checks": {
            "redis": "ok" if redis_ok else "unavailable",
            "subscription": "ok" if subscribed else "reconnecting",
        },
        "connections": hub.connection_count,
        "users": hub.user_count,
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
