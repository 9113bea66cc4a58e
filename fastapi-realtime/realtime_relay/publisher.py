"""Publishing an alert the relay was handed (POST /notify/deadline) the way django-core delivers
every event: one DELIVER_LUA call per recipient (taskflow_contracts.redis_layout), which appends
it to the user's history stream and SPUBLISHes it on their channel, so every relay instance
delivers it live and a reconnecting client replays it. Each call keeps to the user's hash slot;
the calls are pipelined (on a Cluster, one round trip per node) as EVALSHA, the script loaded
(on every primary) when a node does not have it yet. The event id is the dedupe key per user: an
alert that reached a user already (from django-core or an earlier call) is not sent to them
twice. A deadline alert is no board event: no project, number or flags.
"""

import hashlib
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import NoScriptError
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, DELIVER_LUA, user_delivery_keys

DELIVERED = 1
DELIVER_SHA = hashlib.sha1(DELIVER_LUA.encode(), usedforsecurity=False).hexdigest()


class AlertPublisher:
    def __init__(self, *, redis: Redis, history_length: int, history_ttl: int) -> None:
        self._redis = redis
        self._history_length = history_length
        self._history_ttl = history_ttl

    async def publish(self, *, event_id: str, user_ids: list[int], message_json: str) -> bool:
        """Delivers one UserMessage (JSON) to each user; False when every one of them had it
        already. Raises RedisError when Redis is unreachable."""
        # No project, board number, predecessor or flags: a deadline alert is no board event.
        args = [self._history_length, self._history_ttl, DEDUPE_TTL_SECONDS, f"{time.time():.3f}", event_id]
        args += [message_json, "", "", "", ""]
        calls = [[*user_delivery_keys(user_id), *args] for user_id in user_ids]
        results = await self._evalsha(calls)
        if any(isinstance(result, NoScriptError) for result in results):
            await self._redis.script_load(DELIVER_LUA)
            missing = [index for index, result in enumerate(results) if isinstance(result, NoScriptError)]
            for index, result in zip(missing, await self._evalsha([calls[i] for i in missing]), strict=True):
                results[index] = result
        for result in results:
            if isinstance(result, Exception):
                raise result
        return any(int(result) == DELIVERED for result in results)

    async def _evalsha(self, calls: list[list[Any]]) -> list[Any]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for call in calls:
                pipe.execute_command("EVALSHA", DELIVER_SHA, len(user_delivery_keys(0)), *call)
            return list(await pipe.execute(raise_on_error=False))
