"""Publishing an alert the relay was handed (POST /notify/deadline) the way django-core delivers
every event: one DELIVER_LUA call per recipient (taskflow_contracts.redis_layout), which appends
it to the user's history stream and SPUBLISHes it on their channel, so every relay instance
delivers it live and a reconnecting client replays it. Each call keeps to the user's hash slot;
the calls are pipelined (on a Cluster, one round trip per node). The event id is the dedupe key
per user: an alert that reached a user already (from django-core or an earlier call) is not sent
to them twice. A deadline alert is no board event: no project, number or flags.
"""

import time

from redis.asyncio import Redis
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, DELIVER_LUA, user_delivery_keys

DELIVERED = 1


class AlertPublisher:
    def __init__(self, *, redis: Redis, history_length: int, history_ttl: int) -> None:
        self._redis = redis
        self._history_length = history_length
        self._history_ttl = history_ttl

    async def publish(self, *, event_id: str, user_ids: list[int], message_json: str) -> bool:
        """Delivers one UserMessage (JSON) to each user; False when every one of them had it
        already. Raises RedisError when Redis is unreachable."""
        now = f"{time.time():.3f}"
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                keys = user_delivery_keys(user_id)
                args = [self._history_length, self._history_ttl, DEDUPE_TTL_SECONDS, now, event_id, message_json]
                pipe.eval(DELIVER_LUA, len(keys), *keys, *args, "", "", "", "")
            results = await pipe.execute()
        return any(int(result) == DELIVERED for result in results)
