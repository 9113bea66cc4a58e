"""Redis → hub: one pub/sub connection per process, for every user with a socket here.

A user's channel (`user:{id}`) is subscribed when their first socket here arrives and
unsubscribed when their last one leaves. A socket waits until Redis has confirmed its user's
subscription before it reads history, so nothing published in between can slip past it.

The connection looks after itself: a heartbeat PING notices a silent Redis, any error ends the
session, and a new one is opened with exponential backoff (with jitter, so a fleet of relays does
not reconnect in lockstep). Pub/sub keeps nothing while disconnected, so on session loss every
live socket starts holding live frames back (hub.Hub.suspend) and, once the channels are
subscribed again, catches up from the history streams (history.CatchUp.resume_all).
"""

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from taskflow_contracts import user_channel

from realtime_relay.hub import Hub
from realtime_relay.metrics import Metrics

logger = logging.getLogger(__name__)

# Always subscribed, so the connection is in pub/sub mode even with no user here.
CONTROL_CHANNEL = "realtime:relays"
_USER_PREFIX = "user:"
# Channels per SUBSCRIBE command when re-subscribing everything.
_CHUNK = 1000


@dataclass
class _Channel:
    wanted: bool = True
    # SUBSCRIBE commands sent in this session and not yet confirmed.
    pending: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Subscriber:
    def __init__(
        self,
        *,
        redis_url: str,
        hub: Hub,
        metrics: Metrics,
        connect_timeout: float,
        heartbeat_interval: float,
        backoff_initial: float,
        backoff_max: float,
        on_session_lost: Callable[[], None],
        on_session_ready: Callable[["Subscriber"], Coroutine[Any, Any, None]],
    ) -> None:
        # Errors surface at once (no silent retries inside redis-py): the session loop decides.
        self._client: Redis = Redis.from_url(
            redis_url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        self._hub = hub
        self._metrics = metrics
        self._heartbeat = heartbeat_interval
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._on_session_lost = on_session_lost
        self._on_session_ready = on_session_ready
        self._channels: dict[int, _Channel] = {}
        self._ops: asyncio.Queue[tuple[bool, int]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.sessions = 0

    # --- Used by the sockets ----------------------------------------------------------------

    async def acquire(self, user_id: int, *, timeout: float) -> bool:
        """Makes sure the user's channel is subscribed (called for each socket); False when Redis
        did not confirm it in time. `release` follows when the user's last socket here is gone."""
        channel = self._channels.get(user_id)
        if channel is None:
            channel = self._channels[user_id] = _Channel()
            self._send(True, user_id)
        elif not channel.wanted:
            channel.wanted = True
            self._send(True, user_id)
        return await self.wait_subscribed(user_id, timeout=timeout)

    async def wait_subscribed(self, user_id: int, *, timeout: float) -> bool:
        channel = self._channels.get(user_id)
        if channel is None or not channel.wanted:
            return False
        try:
            await asyncio.wait_for(channel.ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def release(self, user_id: int) -> None:
        """The user's last socket here is gone."""
        channel = self._channels.get(user_id)
        if channel is None or not channel.wanted:
            return
        channel.wanted = False
        channel.ready.clear()
        if self.connected:
            self._ops.put_nowait((False, user_id))
        if channel.pending == 0:
            del self._channels[user_id]

    def _send(self, subscribe: bool, user_id: int) -> None:
        if self.connected:
            if subscribe:
                self._channels[user_id].pending += 1
            self._ops.put_nowait((subscribe, user_id))
        # Otherwise the next session subscribes every wanted channel.

    # --- The session loop -------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-subscriber")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        backoff = self._backoff_initial
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                if self.connected:
                    logger.warning("Redis subscription lost: %s", exc)
                    backoff = self._backoff_initial
                else:
                    logger.warning("Redis unavailable, retrying in %.1f s: %s", backoff, exc)
            except Exception:
                # A bug must not end delivery for good: log it and start a fresh session.
                logger.exception("Redis subscriber failed")
            finally:
                if self.connected:
                    self._lose_session()
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not crypto)
            backoff = min(backoff * 2, self._backoff_max)

    def _lose_session(self) -> None:
        self.connected = False
        for user_id, channel in list(self._channels.items()):
            channel.pending = 0
            channel.ready.clear()
            if not channel.wanted:
                del self._channels[user_id]
        self._on_session_lost()

    async def _session(self) -> None:
        pubsub = self._client.pubsub()
        tasks: list[asyncio.Task[None]] = []
        try:
            await pubsub.subscribe(CONTROL_CHANNEL)
            await self._expect_confirmation(pubsub)
            self._ops = asyncio.Queue()
            self.connected = True
            self.sessions += 1
            if self.sessions > 1:
                self._metrics.redis_reconnects += 1
                logger.info("Redis subscription restored; resubscribing %d users", len(self._channels))
            for user_id, channel in self._channels.items():
                channel.pending = 1
                self._ops.put_nowait((True, user_id))
            tasks.append(asyncio.create_task(self._write(pubsub)))
            tasks.append(asyncio.create_task(self._on_session_ready(self)))
            await self._read(pubsub)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                    await task
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _expect_confirmation(self, pubsub: PubSub) -> None:
        message = await pubsub.get_message(timeout=self._heartbeat)
        if message is None or message.get("type") != "subscribe":
            raise ConnectionError("Redis did not confirm the subscription")

    async def _write(self, pubsub: PubSub) -> None:
        """Sends SUBSCRIBE/UNSUBSCRIBE in the order they were asked for, batching runs."""
        while True:
            ops = [await self._ops.get()]
            while not self._ops.empty() and len(ops) < _CHUNK:
                ops.append(self._ops.get_nowait())
            for subscribe, run in itertools.groupby(ops, key=lambda op: op[0]):
                channels = [user_channel(user_id) for _, user_id in run]
                await (pubsub.subscribe(*channels) if subscribe else pubsub.unsubscribe(*channels))

    async def _read(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = next_ping = loop.time()
        hub_deliver = self._hub.deliver
        while True:
            message = await pubsub.get_message(timeout=self._heartbeat / 2)
            now = loop.time()
            if message is not None:
                last_heard = now
                kind = message["type"]
                if kind == "message":
                    channel = message["channel"]
                    if channel.startswith(_USER_PREFIX):
                        hub_deliver(int(channel[len(_USER_PREFIX) :]), message["data"])
                elif kind == "subscribe":
                    self._confirmed(message["channel"])
            if now >= next_ping:
                await pubsub.ping()
                next_ping = now + self._heartbeat
            elif now - last_heard > 2 * self._heartbeat:
                raise ConnectionError("Redis stopped answering the heartbeat")

    def _confirmed(self, channel_name: str) -> None:
        if not channel_name.startswith(_USER_PREFIX):
            return
        user_id = int(channel_name[len(_USER_PREFIX) :])
        channel = self._channels.get(user_id)
        if channel is None:
            return
        channel.pending = max(0, channel.pending - 1)
        if channel.pending:
            return
        if channel.wanted:
            channel.ready.set()
        else:
            del self._channels[user_id]
