"""Who is online, across every relay instance, kept right when an instance crashes.

`presence:online` is a sorted set of user ids scored by when their presence runs out (unix
seconds); `user:{7}:presence` scores this user's relay instances the same way. Every instance
refreshes the users it holds sockets for every third of the TTL; an instance that dies stops
refreshing, and its users drop out within one TTL. When an instance loses a user's last socket it
removes itself from the user's set and takes the user offline at once unless another instance
still holds them. Readers ask `ZRANGE presence:online (<now> +inf BYSCORE`.

The two keys live in different hash slots (a Redis Cluster spreads them), so no script or
transaction spans both: the user's set is changed first (by a script that touches that key
only), `presence:online` after it by plain commands, and the instance that takes a user offline
looks at the user's set once more afterwards. Whatever order two instances' commands interleave
in, an instance that holds the user has marked them online again by then, or is seen holding
them and the user is put back.

Arrivals and departures go through one worker task per process (`arrived`, `left`), in order:
the users who arrived while the previous round trip was under way are marked online together
(two pipelines for all of them), so a burst of handshakes costs a few round trips instead of
two pipelines per user (bench/realtime.py, handshake CPU).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from taskflow_contracts.redis_layout import PRESENCE_ONLINE, tagged_user_presence

logger = logging.getLogger(__name__)

# KEYS: [user_presence]  ARGV: [instance, now]
# Drops this instance (and expired ones) from the user's set; returns the latest expiry among the
# instances left, or false when there is none.
_LEAVE_LUA = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local latest = redis.call('ZRANGE', KEYS[1], 0, 0, 'REV', 'WITHSCORES')
return latest[2] or false
"""

# Users refreshed per round trip.
_BATCH = 500


class Presence:
    def __init__(
        self,
        *,
        redis: Redis,
        redis_slots: asyncio.Semaphore,
        instance: str,
        ttl: int,
        holds: Callable[[int], bool],
    ) -> None:
        """`holds(user_id)`: whether this process still has a socket of the user."""
        self._redis = redis
        self._redis_slots = redis_slots
        self._instance = instance
        self._ttl = ttl
        self._holds = holds
        self._leave = redis.register_script(_LEAVE_LUA)
        self._arrived: set[int] = set()
        self._left: list[int] = []
        self._worker: asyncio.Task[None] | None = None

    def arrived(self, user_id: int) -> None:
        """The user's first socket here: marked online with the next batch."""
        self._arrived.add(user_id)
        self._wake()

    def left(self, user_id: int) -> None:
        """The user's last socket here is gone: taken offline after anything queued before."""
        self._arrived.discard(user_id)
        self._left.append(user_id)
        self._wake()

    def _wake(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while self._arrived or self._left:
            arrived, self._arrived = self._arrived, set()
            left, self._left = self._left, []
            try:
                async with self._redis_slots:
                    if arrived:
                        await self.online(sorted(arrived))
                    for user_id in left:
                        if not self._holds(user_id):
                            await self.offline(user_id)
            except (RedisError, OSError) as exc:
                # The periodic refresh puts the users online again; crashed-instance expiry
                # takes the others offline.
                logger.warning("presence update failed: %s", exc)

    async def stop(self, timeout: float) -> None:
        """Lets the updates under way finish (at most `timeout` seconds)."""
        if self._worker is not None and not self._worker.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._worker, timeout)

    @property
    def refresh_interval(self) -> float:
        return self._ttl / 3

    async def online(self, user_ids: list[int]) -> None:
        """Marks users online for one TTL (never shortening another instance's later expiry)."""
        now = time.time()
        expires = now + self._ttl
        for start in range(0, len(user_ids), _BATCH):
            batch = user_ids[start : start + _BATCH]
            # The users' own sets first: an instance taking a user offline meanwhile sees us there.
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in batch:
                    key = tagged_user_presence(user_id)
                    pipe.zadd(key, {self._instance: expires})
                    pipe.expire(key, self._ttl)
                await pipe.execute()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(PRESENCE_ONLINE, {str(user_id): expires for user_id in batch}, gt=True)
                if start == 0:
                    # Users of crashed instances run out here.
                    pipe.zremrangebyscore(PRESENCE_ONLINE, "-inf", now)
                await pipe.execute()

    async def offline(self, user_id: int) -> None:
        """This instance's last socket of the user closed."""
        key = tagged_user_presence(user_id)
        latest = await self._leave(keys=[key], args=[self._instance, time.time()])
        if latest:
            # Online until the latest expiry among the other instances still holding the user.
            await self._redis.zadd(PRESENCE_ONLINE, {str(user_id): float(latest)})
            # Unless they let the user go meanwhile: their ZREM may have come before our ZADD.
            if await self._held_until(key) is not None:
                return
        await self._redis.zrem(PRESENCE_ONLINE, str(user_id))
        # An instance that took the user on meanwhile wrote its mark before `presence:online`:
        # if it is there now, its ZADD may have come before our ZREM, so put the user back.
        held = await self._held_until(key)
        if held is not None:
            await self._redis.zadd(PRESENCE_ONLINE, {str(user_id): held}, gt=True)

    async def _held_until(self, key: str) -> float | None:
        """The latest unexpired mark in a user's set of instances, or None."""
        held = await self._redis.zrange(key, 0, 0, desc=True, withscores=True)
        return float(held[0][1]) if held and float(held[0][1]) > time.time() else None

    async def refresh(self, user_ids: list[int]) -> None:
        try:
            await self.online(user_ids)
        except RedisError as exc:
            logger.warning("presence refresh failed (retried next round): %s", exc)
