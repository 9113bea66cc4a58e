"""hub.Connection in-process: frames go straight to the socket while nothing waits, else queue in
order behind the ones waiting; an idle socket keeps no queue."""

import asyncio

from realtime_relay.frames import Cursor
from realtime_relay.hub import CLOSE_SLOW_CONSUMER, Connection
from realtime_relay.metrics import Metrics


class Socket:
    """A socket that takes frames until told to push back."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.pushing_back = False

    def write(self, frame: str) -> bool:
        if self.pushing_back:
            return False
        self.written.append(frame)
        return True


def _connection(socket: Socket, *, queue_size: int = 4) -> tuple[Connection, list[int]]:
    conn = Connection(user_id=7, ticket_iat=0, queue_size=queue_size, metrics=Metrics())
    conn.write_now = socket.write
    wakes: list[int] = []
    conn.wake_writer = lambda: wakes.append(1)
    conn.end_sync()
    return conn, wakes


def _drain(conn: Connection, socket: Socket) -> None:
    """What the route's writer does: everything queued, in order, then frames go straight again."""
    while not conn.queue.empty():
        socket.written.append(conn.queue.get_nowait())
    conn.writing = False


def test_frames_go_straight_to_the_socket_and_an_idle_one_keeps_no_queue():
    async def scenario() -> None:
        socket = Socket()
        conn, wakes = _connection(socket)

        assert conn.send("a")
        assert conn.offer("b", Cursor(1, 0))

        assert socket.written == ["a", "b"]
        assert wakes == []
        assert conn._queue is None
        assert conn.metrics.messages_sent == 2

    asyncio.run(scenario())


def test_frames_queue_in_order_behind_one_that_waits():
    async def scenario() -> None:
        socket = Socket()
        conn, wakes = _connection(socket)
        socket.pushing_back = True
        conn.send("1")
        socket.pushing_back = False  # the socket would take the next one, but "1" waits before it
        conn.send("2")
        conn.offer("3", Cursor(5, 0))

        assert socket.written == []
        assert wakes == [1]  # one writer for the whole backlog

        _drain(conn, socket)
        conn.send("4")

        assert socket.written == ["1", "2", "3", "4"]

    asyncio.run(scenario())


def test_a_socket_that_keeps_pushing_back_is_dropped_when_its_queue_is_full():
    async def scenario() -> None:
        socket = Socket()
        conn, _ = _connection(socket, queue_size=2)
        socket.pushing_back = True

        results = [conn.send(str(n)) for n in range(3)]

        assert results == [True, True, False]
        assert conn.closed
        assert conn.close_code == CLOSE_SLOW_CONSUMER

    asyncio.run(scenario())
