"""Who is connected to this process: each user's sockets, each socket's bounded queue.

Delivery never waits on a socket. A frame is handed to every socket of its user with a
non-blocking put; a socket whose queue is full has fallen behind and is dropped (close 4408), so
one slow client never holds up the others. The frame is the string that came from Redis,
serialized once by the publisher and shared by every socket.

A frame goes straight into the socket's transport when nothing waits before it (`write_now`,
set by the route when the server allows it: uvicorn's websockets-sansio protocol), as
`websockets.broadcast` does; only a socket whose transport pushes back (its buffers are full)
queues frames, and only then does a task wait to write them. Waking one writer task per frame
per socket cost about a third of the relay's CPU per delivered frame (bench/realtime.py).

A socket is either live or catching up ("syncing": just connected, or its user's Redis
subscription came back after it was lost). While it catches up, live frames are held back and the history
replay goes first; when the replay is done, the held frames follow, minus any the replay already
delivered. Every event frame carries its stream cursor and a socket never gets a cursor at or
below the last one it was given, which is what makes replay + live free of gaps and duplicates.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

from realtime_relay.frames import ZERO, Cursor, frame_cursor, revocation_time
from realtime_relay.metrics import Metrics

logger = logging.getLogger(__name__)

# Close codes the relay uses (4000-4999 are for applications).
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_SLOW_CONSUMER = 4408


class Connection:
    """One authenticated socket. Frames go to `write_now` while nothing is queued; otherwise
    into `queue`, which `wake_writer` has the route drain into the socket (`writing` while it
    does). The route waits for `closing`; everything that ends a socket goes through `close()`.

    Idle sockets are most of what a relay holds, so each keeps little: the queue is made when a
    frame first has to wait (an asyncio.Queue is three deques, about 2 KiB), and the end is a
    bare future rather than an asyncio.Event (another deque)."""

    __slots__ = (
        "_queue",
        "close_code",
        "close_reason",
        "closing",
        "established",
        "held",
        "held_limit",
        "last_cursor",
        "metrics",
        "queue_size",
        "syncing",
        "ticket_iat",
        "user_id",
        "wake_writer",
        "write_now",
        "writing",
    )

    def __init__(
        self, *, user_id: int, ticket_iat: float, queue_size: int, metrics: Metrics, held_limit: int | None = None
    ) -> None:
        self.user_id = user_id
        self.metrics = metrics
        self.ticket_iat = ticket_iat
        self.queue_size = queue_size
        self._queue: asyncio.Queue[str] | None = None
        self.held: list[tuple[Cursor | None, str]] = []
        # Live frames held back while the socket catches up. The catch-up is the relay's own
        # work, not the client being slow: allow as many as a history holds (more and the
        # client must resync anyway), not just one queue's worth.
        self.held_limit = max(queue_size, held_limit or 0)
        self.syncing = True
        # Set once the first catch-up (hello, replay) is done; only such sockets are resumed
        # after a Redis outage, the others are closed (1013) and reconnect.
        self.established = False
        self.last_cursor = ZERO
        # None until closed; then the code to send, or None when the client went away itself.
        self.close_code: int | None = None
        self.close_reason = ""
        # Done once the socket is to end (never cancelled by the relay; awaited by the route).
        self.closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Set by the route: a synchronous write (True when the frame went out; False when the
        # socket cannot take it now), and what starts draining `queue` into the socket.
        self.write_now: Callable[[str], bool] | None = None
        self.wake_writer: Callable[[], None] = _no_writer
        self.writing = False

    @property
    def closed(self) -> bool:
        return self.closing.done()

    @property
    def queue(self) -> "asyncio.Queue[str]":
        """The frames waiting for the socket to take them (made on first use)."""
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=self.queue_size)
        return self._queue

    def close(self, code: int | None, reason: str = "") -> None:
        """Ends the socket (the first call wins). `code` None: the client is gone already."""
        if self.closing.done():
            return
        self.close_code = code
        self.close_reason = reason
        self.closing.set_result(None)

    def send(self, frame: str) -> bool:
        """Sends or queues a frame without a cursor (pong, error, resync); False if the socket
        was dropped for being full."""
        if self.closing.done():
            return False
        if self._push(frame):
            return True
        self._fell_behind()
        return False

    def _push(self, frame: str) -> bool:
        """Writes the frame at once when nothing waits before it and the socket takes it, else
        queues it; False when the queue is full."""
        if (
            not self.writing
            and self.write_now is not None
            and (self._queue is None or self._queue.empty())
            and self.write_now(frame)
        ):
            self.metrics.messages_sent += 1
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        self.kick_writer()
        return True

    def kick_writer(self) -> None:
        """Has the route drain the queue unless it already does (call after queueing)."""
        if not self.writing and self._queue is not None and not self._queue.empty():
            self.writing = True
            self.wake_writer()

    def _fell_behind(self) -> None:
        if not self.closing.done():
            self.metrics.drops["slow_consumer"] += 1
            self.close(CLOSE_SLOW_CONSUMER, "slow_consumer")

    def offer(self, frame: str, cursor: Cursor | None) -> bool:
        """A live frame: held back while syncing, dropped when already delivered, else queued.
        False when the socket got dropped for falling behind."""
        if self.closing.done():
            return False
        if self.syncing:
            if len(self.held) >= self.held_limit:
                self._fell_behind()
                return False
            self.held.append((cursor, frame))
            return True
        return self._queue_event(frame, cursor)

    def _queue_event(self, frame: str, cursor: Cursor | None) -> bool:
        if cursor is not None:
            if cursor <= self.last_cursor:
                return True
            self.last_cursor = cursor
        return self.send(frame)

    def try_replay(self, frame: str, cursor: Cursor) -> bool:
        """Queues a history frame during a catch-up if there is room (the caller waits for room
        otherwise: the client is still reading what came before)."""
        if not self._push(frame):
            return False
        self.last_cursor = cursor
        return True

    def begin_sync(self) -> None:
        self.syncing = True

    def end_sync(self, *, skip_to: Cursor | None = None) -> None:
        """Releases the held frames (those past the replay) and goes live. `skip_to`: after a
        resync the client refetches everything up to that point, so nothing up to it is sent."""
        if skip_to is not None and skip_to > self.last_cursor:
            self.last_cursor = skip_to
        held, self.held = self.held, []
        self.syncing = False
        for cursor, frame in held:
            if not self._queue_event(frame, cursor):
                return


def _no_writer() -> None:
    """Until the route sets one, queued frames wait."""


class Hub:
    """The sockets of this process by user."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._users: dict[int, set[Connection]] = {}

    @property
    def connection_count(self) -> int:
        return sum(len(conns) for conns in self._users.values())

    @property
    def user_count(self) -> int:
        return len(self._users)

    def users(self) -> list[int]:
        return list(self._users)

    def connections(self) -> list[Connection]:
        return [conn for conns in self._users.values() for conn in conns]

    def holds(self, user_id: int) -> bool:
        return user_id in self._users

    def connections_of(self, user_id: int) -> list[Connection]:
        return list(self._users.get(user_id, ()))

    def add(self, conn: Connection) -> bool:
        """Registers a socket; True when it is the user's first one here."""
        conns = self._users.setdefault(conn.user_id, set())
        conns.add(conn)
        return len(conns) == 1

    def remove(self, conn: Connection) -> bool:
        """Unregisters a socket; True when it was the user's last one here."""
        conns = self._users.get(conn.user_id)
        if conns is None or conn not in conns:
            return False
        conns.discard(conn)
        if conns:
            return False
        del self._users[conn.user_id]
        return True

    def deliver(self, user_id: int, frame: str) -> None:
        """A live frame from the user's channel, to each of their sockets here."""
        conns = self._users.get(user_id)
        if not conns:
            return
        cursor = frame_cursor(frame)
        revoked_at = revocation_time(frame)
        for conn in list(conns):
            if revoked_at is not None and revoked_at >= conn.ticket_iat:
                self.drop(conn, CLOSE_UNAUTHORIZED, "revoked")
            else:
                conn.offer(frame, cursor)

    def drop(self, conn: Connection, code: int, reason: str) -> None:
        if not conn.closed:
            self.metrics.drops[reason] += 1
            conn.close(code, reason)

    def suspend(self, user_ids: Iterable[int]) -> None:
        """These users' Redis subscriptions are gone: their live sockets hold frames back until
        they have caught up from history; sockets still on their first catch-up are closed (1013)
        to reconnect."""
        for conn in [conn for user_id in user_ids for conn in self._users.get(user_id, ())]:
            if conn.established:
                conn.begin_sync()
            else:
                self.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")

    def close_all(self, code: int, reason: str) -> int:
        conns = self.connections()
        for conn in conns:
            conn.close(code, reason)
        return len(conns)
