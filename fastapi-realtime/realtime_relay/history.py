"""Catching a socket up from its user's history stream (`user:{7}:events`).

Two moments need it: a client connecting with the `cursor` it last saw, and the sockets of a
user whose Redis subscription was lost and came back (an outage, a failover, a Cluster slot that
moved: pub/sub does not queue, so whatever was published meanwhile is only in the streams). Both
go the same way: the socket is already subscribed and holding live frames back
(hub.Connection.syncing); the stream is read from its cursor in one script (metadata + entries,
atomically, one key: one hash slot); the entries are queued in order; then the held live frames
follow, minus those the replay covered. The gap is closed only when
the stream proves nothing after the cursor was trimmed away or lost (History.covers); otherwise
the socket gets `resync` and the client refetches over REST.

Why replay and not a blanket `resync` after an outage: a Redis blip would otherwise send every
client of every relay to the REST API at the same moment, while the history is usually intact.
"""

import asyncio
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError
from taskflow_contracts import event_frame
from taskflow_contracts.redis_layout import tagged_user_stream

from realtime_relay import frames
from realtime_relay.auth import TicketBurn, TicketRejected
from realtime_relay.frames import ZERO, Cursor, parse_cursor, revocation_time
from realtime_relay.hub import CLOSE_SLOW_CONSUMER, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHORIZED, Connection, Hub
from realtime_relay.metrics import Metrics

logger = logging.getLogger(__name__)

# How many users one catch-up reads from Redis at the same time.
CATCH_UP_CONCURRENCY = 32
# Pauses between attempts to read a user's history after an outage.
RESUME_RETRY_DELAYS = (0.1, 0.3, 1.0)


@dataclass(frozen=True)
class History:
    """One user's stream at one instant, and its entries after some cursor."""

    exists: bool
    # The id of the last entry ever added (ZERO without a stream): where a fresh socket starts.
    head: Cursor = ZERO
    first: Cursor | None = None
    length: int = 0
    # Entries ever added and the largest id deleted (Redis 7+; None before). Redis 7.0 does not
    # count trimming in max-deleted-entry-id, only XDEL: neither proves alone that nothing after
    # a cursor was trimmed, so `covers` only trusts what they do prove.
    entries_added: int | None = None
    max_deleted: Cursor | None = None
    entries: list[tuple[Cursor, str]] = field(default_factory=list)
    # The read stopped at its limit: more entries follow than one replay sends.
    truncated: bool = False
    # Cursors whose own entry was looked for (`checked`), and those found (`kept`).
    checked: frozenset[Cursor] = frozenset()
    kept: frozenset[Cursor] = frozenset()

    def covers(self, cursor: Cursor) -> bool:
        """Whether every entry after `cursor` is still here (so replaying closes the gap)."""
        if cursor > self.head:
            return False  # a cursor this stream never produced (another Redis, a lost stream)
        if cursor == self.head:
            return True  # nothing was added since
        if self.truncated or not self.exists or self.first is None:
            return False
        if self.max_deleted is not None and self.max_deleted > cursor:
            return False  # something after the cursor was deleted
        if cursor >= self.first:
            # Trimming removes the oldest entries only: all after the cursor are here, provided
            # this is the stream the cursor came from. The client's own last entry is missing
            # when it is not: after a failover the new primary's history may lack what the old
            # one took and never passed on, and hold entries of its own in between.
            return cursor not in self.checked or cursor in self.kept or self.max_deleted == cursor
        # The cursor is older than every entry kept. Only two cases prove nothing was lost: the
        # client has seen nothing yet and the stream never lost an entry, or the cursor is
        # exactly the last entry deleted.
        if cursor == ZERO:
            return self.entries_added is not None and self.entries_added == self.length
        return self.max_deleted == cursor


def _cursor(value: object) -> Cursor | None:
    return parse_cursor(value) if isinstance(value, str) else None


# KEYS: [the user's stream, (the ticket's burn key, `user:{7}:ticket:<jti>`)]
# ARGV: [after ('' = no entries wanted), count, the burn key's TTL, id to look for...]
# With a burn key the ticket is burnt first (SET NX EX): 0 when it was used before, and nothing is
# read. Otherwise returns {} without a stream, else {XINFO STREAM as a flat list, the entries after
# `after` (at most `count`), the ids looked for that have their entry}. One script, the user's
# keys only: one hash slot, one round trip on every topology, and one instant (a MULTI on a
# Cluster took five times as long through redis-py). A new socket's burn rides along: a round
# trip less per handshake (bench/realtime.py).
HISTORY_LUA = """
if #KEYS > 1 and not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local entries = {}
if ARGV[1] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
end
local kept = {}
for i = 4, #ARGV do
  if #redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i], 'COUNT', 1) > 0 then
    kept[#kept + 1] = ARGV[i]
  end
end
return {info, entries, kept}
"""
HISTORY_SHA = hashlib.sha1(HISTORY_LUA.encode(), usedforsecurity=False).hexdigest()


async def read_history(
    redis: Redis,
    user_id: int,
    after: Cursor | None,
    *,
    limit: int,
    check: Iterable[Cursor] = (),
    burn: TicketBurn | None = None,
) -> History:
    """The stream's metadata, up to `limit` entries after `after` (as frames) when it is given,
    and which of the cursors in `check` still have their entry, read atomically. With `burn`, the
    ticket is burnt first, in the same script: TicketRejected("reused_ticket") when it was used
    before (and nothing is read). Raises RedisError when Redis is unreachable (nothing burnt then)."""
    # Only real stream ids can be looked for (not 0-0, nor the relay's cursor past every stream).
    checked = sorted({cursor for cursor in check if cursor != ZERO and parse_cursor(str(cursor)) == cursor})
    keys = [tagged_user_stream(user_id)] if burn is None else [tagged_user_stream(user_id), burn.key]
    args: list[str | int] = [
        "" if after is None else str(after),
        limit,
        0 if burn is None else burn.ttl,
        *map(str, checked),
    ]
    try:
        raw = await redis.evalsha(HISTORY_SHA, len(keys), *keys, *args)
    except NoScriptError:
        await redis.script_load(HISTORY_LUA)  # on a Cluster: on every primary
        raw = await redis.evalsha(HISTORY_SHA, len(keys), *keys, *args)
    if raw == 0:
        raise TicketRejected("reused_ticket")
    if not raw:
        return History(exists=False)  # no stream: never written, expired, or lost with Redis
    flat_info, raw_entries, kept = raw
    info = dict(zip(flat_info[::2], flat_info[1::2], strict=True))
    entries: list[tuple[Cursor, str]] = []
    for entry_id, fields in raw_entries:
        cursor, message = parse_cursor(entry_id), dict(zip(fields[::2], fields[1::2], strict=True)).get("m")
        if cursor is not None and message:
            entries.append((cursor, event_frame(entry_id, message)))
    first_entry = info.get("first-entry")
    entries_added = info.get("entries-added")
    return History(
        exists=True,
        head=_cursor(info.get("last-generated-id")) or ZERO,
        first=_cursor(first_entry[0]) if first_entry else None,
        length=int(info.get("length") or 0),
        entries_added=int(entries_added) if entries_added is not None else None,
        max_deleted=_cursor(info.get("max-deleted-entry-id")),
        entries=entries,
        truncated=after is not None and len(entries) >= limit,
        checked=frozenset(checked),
        kept=frozenset(cursor for cursor in map(parse_cursor, kept) if cursor is not None),
    )


class CatchUp:
    """Replays history into sockets; one per process."""

    def __init__(
        self,
        *,
        redis: Redis,
        redis_slots: asyncio.Semaphore,
        hub: Hub,
        metrics: Metrics,
        limit: int,
        replay_timeout: float,
    ) -> None:
        self._redis = redis
        self._redis_slots = redis_slots
        self._hub = hub
        self._metrics = metrics
        self._limit = limit
        self._replay_timeout = replay_timeout
        # Users whose sockets are catching up after a lost subscription, and how.
        self._resuming: dict[int, asyncio.Task[None]] = {}
        self._concurrency = asyncio.Semaphore(CATCH_UP_CONCURRENCY)

    async def start(self, conn: Connection, cursor: Cursor | None, *, burn: TicketBurn | None = None) -> None:
        """A new socket (subscribed, syncing): hello, then the replay or `resync`, then live.
        Without a cursor the socket starts at the stream's head. `burn`: its ticket, burnt by
        the same script (TicketRejected when it was used before; nothing is sent then)."""
        # Also read what was published since the ticket was issued: a revocation in there means
        # the ticket predates a logout or password change, and the socket is refused.
        since = Cursor(max(0, int(conn.ticket_iat * 1000) - 1), 0)
        async with self._redis_slots:
            history = await read_history(
                self._redis,
                conn.user_id,
                since if cursor is None else min(cursor, since),
                limit=self._limit,
                check=() if cursor is None else (cursor,),
                burn=burn,
            )
        if any(self._revokes(conn, frame) for entry, frame in history.entries if entry > since):
            self._hub.drop(conn, CLOSE_UNAUTHORIZED, "revoked")
            return
        if cursor is None:
            conn.send(frames.hello(conn.user_id, history.head))
            conn.end_sync(skip_to=history.head)
        elif history.covers(cursor):
            conn.send(frames.hello(conn.user_id, cursor))
            conn.last_cursor = cursor
            await self._replay(conn, history)
        else:
            conn.send(frames.hello(conn.user_id, history.head))
            self._resync(conn, history)

    def suspend(self, user_ids: Iterable[int]) -> None:
        """These users' subscriptions were lost: any catch-up of theirs under way stops (what it
        read is already behind), and their live sockets hold frames back (hub.Hub.suspend)."""
        user_ids = list(user_ids)
        for user_id in user_ids:
            task = self._resuming.pop(user_id, None)
            if task is not None:
                task.cancel()
        self._hub.suspend(user_ids)

    def resume(self, user_ids: Iterable[int], wait_subscribed: Callable[[int], Awaitable[bool]]) -> None:
        """The users' channels are being subscribed again: once `wait_subscribed(user_id)`,
        each socket that was live catches up from the last cursor it was given."""
        for user_id in user_ids:
            previous = self._resuming.pop(user_id, None)
            if previous is not None:
                previous.cancel()
            task = asyncio.create_task(self._resume_when_subscribed(user_id, wait_subscribed))
            self._resuming[user_id] = task
            task.add_done_callback(functools.partial(self._resume_done, user_id))

    def _resume_done(self, user_id: int, task: "asyncio.Task[None]") -> None:
        if self._resuming.get(user_id) is task:
            del self._resuming[user_id]
        if not task.cancelled() and task.exception() is not None:
            logger.error("catch-up of user %s failed", user_id, exc_info=task.exception())
            for conn in self._waiting(user_id):
                self._hub.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")

    async def _resume_when_subscribed(self, user_id: int, wait_subscribed: Callable[[int], Awaitable[bool]]) -> None:
        if not await wait_subscribed(user_id):
            # Redis never confirmed the channel: reconnecting is the way back for these.
            for conn in self._waiting(user_id):
                self._hub.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")
            return
        async with self._concurrency:
            await self._resume_user(user_id)

    def _waiting(self, user_id: int) -> list[Connection]:
        """The user's sockets that were live before the outage and wait to catch up."""
        return [c for c in self._hub.connections_of(user_id) if c.syncing and c.established and not c.closed]

    async def _resume_user(self, user_id: int) -> None:
        conns = self._waiting(user_id)
        if not conns:
            return
        oldest = min(conn.last_cursor for conn in conns)
        for delay in RESUME_RETRY_DELAYS:
            try:
                history = await read_history(
                    self._redis, user_id, oldest, limit=self._limit, check=[conn.last_cursor for conn in conns]
                )
                break
            except RedisError as exc:
                logger.warning("catch-up of user %s failed (%s), retrying in %.1f s", user_id, exc, delay)
                await asyncio.sleep(delay)
        else:
            # Still no history: these sockets reconnect with their cursor and catch up then.
            for conn in conns:
                self._hub.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")
            return
        await asyncio.gather(*(self._resume(conn, history) for conn in conns))

    async def _resume(self, conn: Connection, history: History) -> None:
        if history.covers(conn.last_cursor):
            await self._replay(conn, history)
        else:
            self._resync(conn, history)

    async def _replay(self, conn: Connection, history: History) -> None:
        self._metrics.replay_hits += 1
        for cursor, frame in history.entries:
            if conn.closed:
                return
            if cursor <= conn.last_cursor:
                continue
            # A revocation the socket missed (during an outage, or one published between the
            # ticket's issue and this connect) still closes it.
            if self._revokes(conn, frame):
                self._hub.drop(conn, CLOSE_UNAUTHORIZED, "revoked")
                return
            if not await self._put(conn, frame, cursor):
                return
            self._metrics.replayed_events += 1
        conn.end_sync()

    async def _put(self, conn: Connection, frame: str, cursor: Cursor) -> bool:
        """Queues one replayed frame, waiting for room while the client reads; a client that
        reads nothing for `replay_timeout` is dropped as a slow consumer."""
        if conn.try_replay(frame, cursor):
            return True
        put = asyncio.ensure_future(conn.queue.put(frame))
        try:
            await asyncio.wait({put, conn.closing}, timeout=self._replay_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not put.done():
                put.cancel()
            elif not put.cancelled():
                # Queued (even when this catch-up is being cancelled): the next one starts after it.
                conn.last_cursor = cursor
                conn.kick_writer()
        if put.done() and not put.cancelled():
            return True
        if not conn.closed:
            self._hub.drop(conn, CLOSE_SLOW_CONSUMER, "slow_consumer")
        return False

    @staticmethod
    def _revokes(conn: Connection, frame: str) -> bool:
        revoked_at = revocation_time(frame)
        return revoked_at is not None and revoked_at >= conn.ticket_iat

    def _resync(self, conn: Connection, history: History) -> None:
        self._metrics.replay_misses += 1
        conn.send(frames.RESYNC)
        conn.end_sync(skip_to=history.head)
