"""Redis → hub: the sharded pub/sub channels (`user:{7}`) of the users with a socket here.

django-core publishes each user's frames with SPUBLISH on the user's channel (inside
DELIVER_LUA, docs/scaling.md). A channel is subscribed (SSUBSCRIBE) when the user's first socket
here arrives and unsubscribed when their last one leaves. A socket waits until Redis has
confirmed its user's channel before it reads history, so nothing published in between can slip
past it.

Connections ("links"): a single node or Sentinel's primary has one pub/sub connection; a Redis
Cluster has one per primary, since a shard channel lives on the node that owns its hash slot.
redis-py's own ClusterPubSub is not used: it reads its nodes one after the other (a frame waits
out the other nodes' read timeouts), reconnects a node silently (the frames published meanwhile
would be lost without anyone catching up) and follows a moved slot only when some other command
happens to refresh its slot map.

Each link looks after itself: a heartbeat PING notices a silent node, any error ends its
session, and a new one is opened with exponential backoff (with jitter, so a fleet of relays
does not reconnect in lockstep). Sentinel's primary is looked up again on each connect, and a
session ends when the Sentinels name another primary, so a failover is one more lost session.

Pub/sub keeps nothing while disconnected: when a confirmed channel is lost (its link's session
ended, Redis unsubscribed it because its slot moved, or the slot map says another node owns it
now), the user's sockets hold live frames back (hub.Hub.suspend) and, once the channel is
subscribed again (on whichever node owns it then), catch up from the history stream
(history.CatchUp.resume), or get `resync` when that history is not the one their cursor came
from. On a Cluster every lost link, MOVED reply and unasked SUNSUBSCRIBE refreshes the slot map
(and so does a timer), and channels follow their slots to the new owner.
"""

import asyncio
import contextlib
import itertools
import logging
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import MovedError, RedisClusterException, RedisError, ResponseError
from redis.retry import Retry
from taskflow_contracts import RedisTopology, async_client
from taskflow_contracts.redis_layout import tagged_user_channel

from realtime_relay.metrics import Metrics

logger = logging.getLogger(__name__)

# Always subscribed, so each connection is in pub/sub mode even with no user here.
CONTROL_CHANNEL = "realtime:relays"
_USER_PREFIX, _USER_SUFFIX = "user:{", "}"
# Channels per SSUBSCRIBE on a single node; on a Cluster one command takes one slot's channels.
_CHUNK = 1000
# The single node's (or Sentinel's primary's) link.
PRIMARY = "primary"
# How often a Cluster's slot map is read again even when nothing suggested a change.
SLOT_MAP_REFRESH = 30.0


def channel_user(channel: str) -> int | None:
    """The user id of `user:{7}`; None for any other channel."""
    if channel.startswith(_USER_PREFIX) and channel.endswith(_USER_SUFFIX):
        tag = channel[len(_USER_PREFIX) : -len(_USER_SUFFIX)]
        if tag.isdigit():
            return int(tag)
    return None


class _Ready:
    """Whether a channel is confirmed, and a way to wait for it: an asyncio.Event without its
    deque, which every user's channel kept for as long as the user stayed (about 0.6 KiB each);
    a future exists only while someone waits."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_result(None)
            self._waiter = None

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        # Shielded: a waiter that gives up (a timeout) must not cancel the others' wait.
        await asyncio.shield(self._waiter)


@dataclass
class _Channel:
    user_id: int
    name: str
    wanted: bool = True
    # The link the channel is subscribed (or being subscribed) on; None until the slot map says.
    link: str | None = None
    # SSUBSCRIBE / SUNSUBSCRIBE sent on `link` in its current session and not yet confirmed.
    subscribing: int = 0
    unsubscribing: int = 0
    ready: _Ready = field(default_factory=_Ready)
    # The channel was confirmed and then lost: once it is confirmed again, its user's sockets
    # catch up from history. `catching_up`: that catch-up was asked for and waits for the
    # confirmation (a loss meanwhile asks again).
    lost: bool = False
    catching_up: bool = False


OnLost = Callable[[list[int]], None]
OnResubscribing = Callable[[list[int]], None]


class Subscriber:
    def __init__(
        self,
        *,
        topology: RedisTopology,
        metrics: Metrics,
        connect_timeout: float,
        heartbeat_interval: float,
        backoff_initial: float,
        backoff_max: float,
        deliver: Callable[[int, str], None],
        on_lost: OnLost,
        on_resubscribing: OnResubscribing,
    ) -> None:
        """`deliver(user_id, frame)` gets every frame; `on_lost(users)` is told whose channels
        were lost (their sockets hold frames back); `on_resubscribing(users)` whose channels
        are being subscribed again after a loss (their sockets catch up once `wait_subscribed`)."""
        self._topology = topology
        # Errors surface at once (no silent retries inside redis-py): each link decides.
        self._link_options: dict[str, Any] = {
            "decode_responses": True,
            "socket_connect_timeout": connect_timeout,
            "socket_keepalive": True,
            "retry": Retry(NoBackoff(), 0),
        }
        self._cluster: RedisCluster | None = None
        if topology.mode == "cluster":
            self._cluster = async_client(
                topology, decode_responses=True, socket_timeout=connect_timeout, socket_connect_timeout=connect_timeout
            )
        self._metrics = metrics
        self._heartbeat = heartbeat_interval
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._deliver = deliver
        self._on_lost = on_lost
        self._on_resubscribing = on_resubscribing
        self._channels: dict[str, _Channel] = {}
        self._links: dict[str, _Link] = {}
        self._refresh_wanted = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._started = False

    # --- Used by the sockets ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Every link is up (and, on a Cluster, the slot map was read)."""
        return bool(self._links) and all(link.connected for link in self._links.values())

    @property
    def links(self) -> dict[str, bool]:
        """Each link's name (`primary`, or a Cluster node's host:port) and whether it is up."""
        return {name: link.connected for name, link in self._links.items()}

    async def acquire(self, user_id: int, *, timeout: float) -> bool:
        """Makes sure the user's channel is subscribed (called for each socket); False when Redis
        did not confirm it in time. Pair every call with `release` once the user's last socket
        here is gone."""
        name = tagged_user_channel(user_id)
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = _Channel(user_id=user_id, name=name, link=self._owner(name))
            self._subscribe(channel)
        elif not channel.wanted:
            channel.wanted = True
            if channel.link is None:
                channel.link = self._owner(name)
            self._subscribe(channel)
        return await self.wait_subscribed(user_id, timeout=timeout)

    async def wait_subscribed(self, user_id: int, *, timeout: float) -> bool:
        channel = self._channels.get(tagged_user_channel(user_id))
        if channel is None or not channel.wanted:
            return False
        if channel.ready.is_set():
            return True
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps the wait in a task of
            # its own, once per handshake.
            async with asyncio.timeout(timeout):
                await channel.ready.wait()
        except TimeoutError:
            return False
        return True

    def release(self, user_id: int) -> None:
        """The user's last socket here is gone."""
        channel = self._channels.get(tagged_user_channel(user_id))
        if channel is None or not channel.wanted:
            return
        channel.wanted = False
        channel.ready.clear()
        channel.lost = channel.catching_up = False
        link = self._links.get(channel.link or "")
        if link is not None and link.connected:
            channel.unsubscribing += 1
            link.ops.put_nowait((False, channel.name))
        self._forget_if_idle(channel)

    # --- Channels and links -----------------------------------------------------------------

    def _owner(self, name: str) -> str | None:
        """The link that serves this channel: the primary, or the Cluster node owning its slot."""
        if self._cluster is None:
            return PRIMARY
        if not self._started:
            return None
        try:
            node = self._cluster.get_node_from_key(name)
        except (RedisError, RedisClusterException):  # SlotNotCoveredError is not a RedisError
            node = None
        return None if node is None else str(node.name)  # None: a slot nobody serves right now

    def _subscribe(self, channel: _Channel) -> None:
        """Sends SSUBSCRIBE when the channel's link is up (otherwise its next session does)."""
        link = self._links.get(channel.link or "")
        if link is None or not link.connected:
            return
        channel.subscribing += 1
        link.ops.put_nowait((True, channel.name))
        if channel.lost:
            channel.lost = False
            channel.catching_up = True
            self._on_resubscribing([channel.user_id])

    def _lose(self, channels: Iterable[_Channel]) -> None:
        """These channels are no longer (known to be) subscribed: their users' sockets hold
        frames back until they are confirmed again and caught up."""
        users = []
        for channel in channels:
            if channel.wanted and (channel.ready.is_set() or channel.catching_up):
                channel.lost = True
                channel.catching_up = False
                users.append(channel.user_id)
            channel.ready.clear()
            channel.subscribing = channel.unsubscribing = 0
        if users:
            self._on_lost(users)

    def _forget_if_idle(self, channel: _Channel) -> None:
        if not channel.wanted and channel.subscribing == 0 and channel.unsubscribing == 0:
            self._channels.pop(channel.name, None)

    def _channels_on(self, link: str) -> list[_Channel]:
        return [channel for channel in self._channels.values() if channel.link == link]

    def _link_up(self, link: "_Link") -> None:
        """A session of `link` began: subscribe every channel it serves."""
        resubscribing = []
        for channel in self._channels_on(link.name):
            if not channel.wanted:
                self._forget_if_idle(channel)
                continue
            channel.subscribing = 1
            link.ops.put_nowait((True, channel.name))
            if channel.lost:
                channel.lost = False
                channel.catching_up = True
                resubscribing.append(channel.user_id)
        if resubscribing:
            self._on_resubscribing(resubscribing)

    def _link_down(self, link: "_Link") -> None:
        self._lose(self._channels_on(link.name))
        for channel in self._channels_on(link.name):
            self._forget_if_idle(channel)
        if self._cluster is not None:
            self._refresh_wanted.set()

    def _confirmed(self, link: "_Link", kind: str, name: str) -> None:
        channel = self._channels.get(name)
        if channel is None or channel.link != link.name:
            return  # an answer from a node the channel has moved away from
        if kind == "ssubscribe":
            if channel.subscribing == 0:
                return
            channel.subscribing -= 1
            if channel.subscribing == 0 and channel.wanted:
                channel.ready.set()
                channel.catching_up = False
        elif channel.unsubscribing:
            channel.unsubscribing -= 1
        elif channel.wanted and channel.subscribing == 0:
            # Nobody asked: Redis dropped the subscription because the slot moved away.
            logger.info("Redis unsubscribed %s (its slot moved); following it", name)
            self._lose([channel])
            self._refresh_wanted.set()
        self._forget_if_idle(channel)

    def _moved(self, link: "_Link", error: MovedError) -> None:
        """A SSUBSCRIBE went to a node that no longer owns the slot."""
        lost = [c for c in self._channels_on(link.name) if key_slot(c.name.encode()) == error.slot_id]
        self._lose(lost)
        for channel in lost:
            channel.link = None
            self._forget_if_idle(channel)
        self._refresh_wanted.set()

    # --- Lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="redis-subscriber")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for link in list(self._links.values()):
            await link.stop()
        self._links.clear()
        if self._cluster is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._cluster.aclose()

    async def _run(self) -> None:
        if self._cluster is None:
            self._started = True
            self._add_link(PRIMARY, async_client(self._topology, **self._link_options))
            return
        backoff = self._backoff_initial
        while True:
            try:
                await self._read_slot_map()
                backoff = self._backoff_initial
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._refresh_wanted.wait(), SLOT_MAP_REFRESH)
                # Let a burst of reasons (every channel of a lost node) make one refresh.
                await asyncio.sleep(0.05)
            except (RedisError, RedisClusterException, OSError) as exc:
                logger.warning("Reading the Redis Cluster's slot map failed, retrying in %.1f s: %s", backoff, exc)
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not crypto)
                backoff = min(backoff * 2, self._backoff_max)
            except Exception:
                logger.exception("Following the Redis Cluster's slot map failed")
                await asyncio.sleep(self._backoff_max)

    async def _read_slot_map(self) -> None:
        """Reads the slot map, opens a link per primary, moves channels to their slots' owners
        and closes the links of nodes that are no longer primaries."""
        assert self._cluster is not None
        self._refresh_wanted.clear()
        if self._started:
            await self._cluster.nodes_manager.initialize()
        else:
            await self._cluster.initialize()
            self._started = True
        primaries = {node.name: node for node in self._cluster.get_primaries()}
        for name, node in primaries.items():
            if name not in self._links:
                url = _node_url(self._topology.url, node.host, int(node.port))
                self._add_link(name, Redis.from_url(url, **self._link_options))
        moved = []
        for channel in list(self._channels.values()):
            if not channel.wanted:
                continue
            owner = self._owner(channel.name)
            if owner != channel.link:
                moved.append(channel)
                channel.link = owner
        if moved:
            logger.info("%d channels moved to another node", len(moved))
            self._lose(moved)
            for channel in moved:
                self._subscribe(channel)
        for name in [name for name in self._links if name not in primaries]:
            link = self._links.pop(name)
            await link.stop()
            for channel in self._channels_on(name):
                channel.link = None
                self._lose([channel])
                self._forget_if_idle(channel)

    def _add_link(self, name: str, client: Redis) -> None:
        link = _Link(self, name, client)
        self._links[name] = link
        link.start()


class _Link:
    """One pub/sub connection and its session loop."""

    def __init__(self, subscriber: Subscriber, name: str, client: Redis) -> None:
        self.name = name
        self._subscriber = subscriber
        self._client = client
        self._sharded = subscriber._cluster is not None
        self.connected = False
        self.sessions = 0
        self.ops: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        # When the link last heard from Redis (loop time): the heartbeat's measure.
        self.last_heard = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"redis-subscriber-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.connected = False
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()

    async def _run(self) -> None:
        subscriber = self._subscriber
        backoff = subscriber._backoff_initial
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                if self.connected:
                    logger.warning("Redis subscription lost (%s): %s", self.name, exc)
                    backoff = subscriber._backoff_initial
                else:
                    logger.warning("Redis unavailable (%s), retrying in %.1f s: %s", self.name, backoff, exc)
            except Exception:
                # A bug must not end delivery for good: log it and start a fresh session.
                logger.exception("Redis subscriber failed (%s)", self.name)
            finally:
                if self.connected:
                    self.connected = False
                    subscriber._link_down(self)
                elif subscriber._cluster is not None:
                    subscriber._refresh_wanted.set()
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))  # noqa: S311 (jitter, not crypto)
            backoff = min(backoff * 2, subscriber._backoff_max)

    async def _session(self) -> None:
        subscriber = self._subscriber
        pubsub = self._client.pubsub()
        helpers: list[asyncio.Task[None]] = []
        try:
            await pubsub.subscribe(CONTROL_CHANNEL)
            message = await pubsub.get_message(timeout=subscriber._heartbeat)
            if message is None or message.get("type") != "subscribe":
                raise ConnectionError("Redis did not confirm the subscription")
            self.ops = asyncio.Queue()
            self.connected = True
            self.sessions += 1
            if self.sessions > 1:
                subscriber._metrics.redis_reconnects += 1
                logger.info("Redis subscription restored (%s)", self.name)
            subscriber._link_up(self)
            self.last_heard = asyncio.get_running_loop().time()
            helpers.append(asyncio.create_task(self._write(pubsub)))
            helpers.append(asyncio.create_task(self._heartbeat(pubsub)))
            if hasattr(self._client.connection_pool, "get_master_address"):
                helpers.append(asyncio.create_task(self._watch_primary(pubsub)))
            helpers.append(asyncio.create_task(self._read(pubsub)))
            # Whichever ends first (an error, mostly) ends the session.
            done, _ = await asyncio.wait(helpers, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
            raise ConnectionError("a task of the subscription stopped")
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                    await helper
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _write(self, pubsub: PubSub) -> None:
        """Sends SSUBSCRIBE/SUNSUBSCRIBE in the order they were asked for, many per write."""
        connection = pubsub.connection
        assert connection is not None
        while True:
            ops = [await self.ops.get()]
            while not self.ops.empty() and len(ops) < _CHUNK:
                ops.append(self.ops.get_nowait())
            commands = []
            for subscribe, run in itertools.groupby(ops, key=lambda op: op[0]):
                verb = "SSUBSCRIBE" if subscribe else "SUNSUBSCRIBE"
                commands += [(verb, *names) for names in self._batches([name for _, name in run])]
            await connection.send_packed_command(connection.pack_commands(commands))

    async def _watch_primary(self, pubsub: PubSub) -> None:
        """Sentinel: ends the session once the Sentinels name another primary. A switch-over
        leaves this connection open on the old primary, now a replica (which may even go on
        passing SPUBLISHed frames along); the next session connects to the new one."""
        connection = pubsub.connection
        pool: Any = self._client.connection_pool
        assert connection is not None
        while True:
            await asyncio.sleep(self._subscriber._heartbeat)
            try:
                host, port = await pool.get_master_address()
            except (RedisError, OSError):
                continue  # the Sentinels are out of reach: keep the connection that works
            if (host, int(port)) != (connection.host, int(connection.port)):
                raise ConnectionError(f"{connection.host}:{connection.port} is no longer the primary")

    def _batches(self, names: list[str]) -> Iterable[list[str]]:
        if not self._sharded:
            return (names[start : start + _CHUNK] for start in range(0, len(names), _CHUNK))
        # A Cluster takes the channels of one slot per command (CROSSSLOT otherwise).
        by_slot: dict[int, list[str]] = {}
        for name in names:
            by_slot.setdefault(key_slot(name.encode()), []).append(name)
        return by_slot.values()

    async def _heartbeat(self, pubsub: PubSub) -> None:
        """PINGs Redis every heartbeat interval; a link that heard nothing (frames, pongs) for
        two intervals is dead, and its session ends."""
        connection = pubsub.connection
        assert connection is not None
        heartbeat = self._subscriber._heartbeat
        loop = asyncio.get_running_loop()
        ping = connection.pack_command("PING")
        while True:
            await asyncio.sleep(heartbeat)
            if loop.time() - self.last_heard > 2 * heartbeat:
                raise ConnectionError("Redis stopped answering the heartbeat")
            # The reply (`pong`) reaches `_read`; no health check, which would read it here.
            await connection.send_packed_command(ping, check_health=False)

    async def _read(self, pubsub: PubSub) -> None:
        """Reads the link's replies straight from its connection. redis-py's PubSub.get_message
        wraps each one in a retry layer, observability hooks, a timeout (for the heartbeat,
        which has its own task here) and a dict: about a third of the relay's CPU per
        delivered frame (bench/realtime.py)."""
        connection = pubsub.connection
        assert connection is not None
        subscriber = self._subscriber
        deliver = subscriber._deliver
        loop = asyncio.get_running_loop()
        read = connection.read_response
        while True:
            try:
                reply = await read(timeout=math.inf, disconnect_on_error=False, push_request=True)
            except MovedError as error:
                subscriber._moved(self, error)
                continue
            except ResponseError as error:
                logger.warning("Redis refused a subscription (%s): %s", self.name, error)
                continue
            self.last_heard = loop.time()
            # [kind, channel, payload], or a pong's [b"pong", b""]; decoded to str.
            if not isinstance(reply, list) or len(reply) != 3:
                continue
            kind = reply[0]
            if kind == "smessage":
                user_id = channel_user(reply[1])
                if user_id is not None:
                    deliver(user_id, reply[2])
            elif kind in ("ssubscribe", "sunsubscribe"):
                subscriber._confirmed(self, kind, reply[1])


def _node_url(seed_url: str, host: str, port: int) -> str:
    """The seed's URL (scheme, credentials) pointed at one node of the Cluster."""
    parts = urlsplit(seed_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = (credentials + "@" if credentials else "") + (f"[{host}]" if ":" in host else host) + f":{port}"
    return urlunsplit((parts.scheme, netloc, "", "", ""))
