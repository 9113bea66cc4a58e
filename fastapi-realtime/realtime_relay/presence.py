"""Who is online, across every relay instance, kept right when an instance crashes.

`presence:online` is a sorted set of user ids scored by when their presence runs out (unix
seconds); `user:{id}:presence` scores this user's relay instances the same way. Every instance
refreshes the users it holds sockets for every third of the TTL; an instance that dies stops
refreshing, and its users drop out within one TTL. When an instance loses a user's last socket it
removes itself from the user's set and takes the user offline at once unless another instance
still holds them. Readers ask `ZRANGE presence:online (<now> +inf BYSCORE`.
"""

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskflow_contracts.redis_layout import PRESENCE_ONLINE, user_presence

logger = logging.getLogger(__name__)

# KEYS: [online, user_presence]  ARGV: [user_id, instance, now]
# Drops this instance from the user's set; the user stays online until the latest expiry among
# the other live instances, or goes offline now when there is none.
_OFFLINE_LUA = """
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local latest = redis.call('ZRANGE', KEYS[2], 0, 0, 'REV', 'WITHSCORES')
if latest[2] then
  redis.call('ZADD', KEYS[1], latest[2], ARGV[1])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
end
return latest[2] and 1 or 0
"""

# Users refreshed per round trip.
_BATCH = 500


class Presence:
    def __init__(self, *, redis: Redis, instance: str, ttl: int) -> None:
        self._redis = redis
        self._instance = instance
        self._ttl = ttl
        self._offline = redis.register_script(_OFFLINE_LUA)

    @property
    def refresh_interval(self) -> float:
        return self._ttl / 3

    async def online(self, user_ids: list[int]) -> None:
        """Marks users online for one TTL (never shortening another instance's later expiry)."""
        now = time.time()
        expires = now + self._ttl
        for start in range(0, len(user_ids), _BATCH):
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in user_ids[start : start + _BATCH]:
                    key = user_presence(user_id)
                    pipe.zadd(key, {self._instance: expires})
                    pipe.expire(key, self._ttl)
                    pipe.zadd(PRESENCE_ONLINE, {str(user_id): expires}, gt=True)
                if start == 0:
                    # Users of crashed instances run out here.
                    pipe.zremrangebyscore(PRESENCE_ONLINE, "-inf", now)
                await pipe.execute()

    async def offline(self, user_id: int) -> None:
        """This instance's last socket of the user closed."""
        await self._offline(keys=[PRESENCE_ONLINE, user_presence(user_id)], args=[user_id, self._instance, time.time()])

    async def refresh(self, user_ids: list[int]) -> None:
        try:
            await self.online(user_ids)
        except RedisError as exc:
            logger.warning("presence refresh failed (retried next round): %s", exc)
