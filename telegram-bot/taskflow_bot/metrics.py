"""The bot's metrics (prometheus-client), at GET /metrics on the health server
(BOT_HEALTH_HOST:BOT_HEALTH_PORT; never behind the gateway), beside /live and /ready.

Counters: updates handled (by type), push messages sent, Telegram 429s, chats unlinked after a
403. The stream lag (entries of the push stream not yet read by the consumer group, and those
read but not acknowledged) is asked of Redis when /metrics is scraped (XINFO GROUPS), not kept up
to date per entry.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
UPDATES = Counter("taskflow_bot_updates_total", "Telegram updates handled, by type.", ["type"], registry=REGISTRY)
MESSAGES_SENT = Counter("taskflow_bot_messages_sent_total", "Push messages sent to chats.", registry=REGISTRY)
RETRY_AFTER = Counter(
    "taskflow_bot_telegram_429_total", "Telegram's flood control answers (429 retry_after).", registry=REGISTRY
)
BLOCKED_UNLINKS = Counter(
    "taskflow_bot_blocked_unlinks_total",
    "Chats that blocked the bot (403), unlinked by django-core.",
    registry=REGISTRY,
)
SEND_FAILURES = Counter(
    "taskflow_bot_send_failures_total", "Push sends Telegram refused otherwise (retried).", registry=REGISTRY
)
STREAM_LAG = Gauge(
    "taskflow_bot_stream_lag_entries",
    "Push stream entries the consumer group has not read yet (-1: Redis did not answer).",
    registry=REGISTRY,
)
STREAM_PENDING = Gauge(
    "taskflow_bot_stream_pending_entries", "Push stream entries read but not acknowledged yet.", registry=REGISTRY
)


class UpdatesCounted(BaseMiddleware):
    """An outer middleware on the dispatcher's updates: counts each update by its type."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        UPDATES.labels(event.event_type if isinstance(event, Update) else type(event).__name__).inc()
        return await handler(event, data)


async def stream_lag_read(redis: Redis, stream: str, group: str) -> None:
    try:
        groups = await redis.xinfo_groups(stream)
    except RedisError as error:
        if "no such key" not in str(error).lower():
            STREAM_LAG.set(-1)
            return
        groups = []
    mine = next((entry for entry in groups if entry.get("name") == group), None)
    if mine is None:
        STREAM_LAG.set(0)
        STREAM_PENDING.set(0)
        return
    lag = mine.get("lag")
    STREAM_LAG.set(-1 if lag is None else int(lag))
    STREAM_PENDING.set(int(mine.get("pending") or 0))


def metrics_routes(app: web.Application, *, redis: Redis, stream: str, group: str) -> None:
    async def metrics(request: web.Request) -> web.Response:
        await stream_lag_read(redis, stream, group)
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
