"""Publishing an alert the relay was handed (POST /notify/deadline) the way django-core publishes
every event: one atomic Lua script (taskflow_contracts.redis_layout.PUBLISH_EVENT_LUA) appends it
to each recipient's history stream and publishes it on their channel, so every relay instance
delivers it live and a reconnecting client replays it. The event id is the dedupe key: an alert
whose event was published already (by django-core or an earlier call) is not sent twice.
"""

from redis.asyncio import Redis
from taskflow_contracts import dedupe_key, user_channel, user_stream
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, PUBLISH_EVENT_LUA


class AlertPublisher:
    def __init__(self, *, redis: Redis, history_length: int, history_ttl: int) -> None:
        self._script = redis.register_script(PUBLISH_EVENT_LUA)
        self._history_length = history_length
        self._history_ttl = history_ttl

    async def publish(self, *, event_id: str, user_ids: list[int], message_json: str) -> bool:
        """Publishes one UserMessage (JSON) to each user; False when the event had been published
        before. Raises RedisError when Redis is unreachable."""
        keys = [dedupe_key(event_id)]
        args: list[str | int] = [self._history_length, DEDUPE_TTL_SECONDS, self._history_ttl]
        for user_id in user_ids:
            keys += [user_stream(user_id), user_channel(user_id)]
            args.append(message_json)
        return bool(await self._script(keys=keys, args=args))
