"""The load generator of bench.realtime, as processes of their own: WebSocket clients (asyncio +
the `websockets` client, ~2,500 sockets per process) and a Redis publisher.

    python -m bench.realtime_load clients --url ws://127.0.0.1:8001/ws/notifications --auth ticket \\
        --first-user 900000000001 --users 2500 --counters FILE --slot 0 [--local-addr 127.0.0.2] [--latency]
    python -m bench.realtime_load publish --redis-url redis://127.0.0.1:6379/15 [--cluster] [--history] \\
        --first-user ... --users 1000 --counters FILE --slot 4 --received-slots 0,1,2,3 \\
        (--window 4000 --seconds 13 | --rate 1000 --warmup 2 --seconds 10)

`--history` publishes as django-core does: one DELIVER_LUA call per event and user (the shared
delivery script: XADD to the user's history stream `user:{7}:events`, dedupe by event id,
SPUBLISH of the frame with the new entry's id as its cursor); without it, a bare SPUBLISH of a
ready-made frame.

Live figures (messages received, sockets open, events published) go to a shared counter file
(unsigned 64-bit integers, memory-mapped, SLOT_WIDTH per process) that bench.realtime and the
publisher read while they change. A client process prints one JSON line when its sockets are
open, then answers `report` and `quit` on stdin with one JSON line each; the publisher prints
one JSON line when it is done. Nothing here asserts: failures are counted and reported.
"""

import argparse
import asyncio
import contextlib
import hashlib
import json
import mmap
import os
import random
import signal
import socket
import sys
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Fields of a process's slot in the counter file.
SLOT_WIDTH = 8
RECEIVED = 0  # client: frames received after hello
CONNECTED = 1  # client: sockets that got their hello
FAILED = 2  # client: sockets that never got one
CLOSED = 3  # client: sockets closed after their hello
READY = 4  # client: done opening; publisher: done publishing
PUBLISHED = 0  # publisher: SPUBLISH commands sent
UNROUTED = 1  # publisher: SPUBLISH answered 0 (nobody subscribed)
STARTED = 2  # publisher: CLOCK_MONOTONIC nanoseconds of its first SPUBLISH

ORIGIN = "http://localhost:8080"  # the gateway's origin, in the relay's default allow-list
SENT_MARK = ',"bench_sent_ns":'
TICKET_LIFETIME = 30  # django-core's REALTIME_TICKET_TTL default
KEY_PATH = Path(__file__).resolve().parent.parent / "var" / "keys" / "jwt_private.pem"


class Counters:
    """The shared counter file: SLOT_WIDTH unsigned 64-bit integers per process."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 0)
        self.values = memoryview(self._map).cast("Q")

    @staticmethod
    def create(path: Path, processes: int) -> "Counters":
        path.write_bytes(bytes(8 * SLOT_WIDTH * processes))
        return Counters(path)

    def get(self, slot: int, field: int) -> int:
        return int(self.values[slot * SLOT_WIDTH + field])

    def total(self, slots: list[int], field: int) -> int:
        return sum(int(self.values[slot * SLOT_WIDTH + field]) for slot in slots)

    def close(self) -> None:
        self.values.release()
        self._map.close()
        self._file.close()


# --- WebSocket clients ---------------------------------------------------------------------------


class Tickets:
    """Tickets signed as django-core's realtime_ticket_issue signs them (dev private key)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self._key = load_pem_private_key(KEY_PATH.read_bytes(), password=None)

    def sign(self, user_id: int) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "iss": "taskflow",
            "aud": "ws",
            "token_type": "ws_ticket",
            "sub": str(user_id),
            "user_id": user_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + TICKET_LIFETIME,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA")  # type: ignore[arg-type]


class Clients:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.counters = Counters(args.counters)
        self.base = args.slot * SLOT_WIDTH
        self.tickets = Tickets() if args.auth == "ticket" else None
        self.sockets: list[Any] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.errors: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.closes: Counter[str] = Counter()
        # Latency mode: (send instant, receive - send) in monotonic nanoseconds, per frame.
        self.sent = array("q")
        self.latency = array("q")
        self.other_frames = 0

    def url(self, user_id: int) -> str:
        if self.tickets is not None:
            return f"{self.args.url}?ticket={self.tickets.sign(user_id)}"
        return f"{self.args.url}?user={user_id}"

    async def open_all(self) -> float:
        semaphore = asyncio.Semaphore(self.args.concurrency)
        started = time.perf_counter()
        users = range(self.args.first_user, self.args.first_user + self.args.users)
        await asyncio.gather(*(self._open(user_id, semaphore) for user_id in users))
        return time.perf_counter() - started

    async def _open(self, user_id: int, semaphore: asyncio.Semaphore) -> None:
        """One socket up to its hello. Close 1013 (try again later) is retried after a pause, as
        the protocol tells clients to; anything else is a failure. Both are counted."""
        values, base = self.counters.values, self.base
        async with semaphore:
            for attempt in range(1, self.args.retries + 2):
                outcome = await self._attempt(user_id)
                if not isinstance(outcome, str):
                    break
                if outcome != "closed 1013" or attempt > self.args.retries:
                    self.errors[outcome] += 1
                    values[base + FAILED] += 1
                    return
                self.retried[outcome] += 1
                await asyncio.sleep(random.uniform(0.1, 0.3) * attempt)
        self.sockets.append(outcome)
        values[base + CONNECTED] += 1
        task = asyncio.create_task(self._receive(outcome))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attempt(self, user_id: int) -> Any:
        """The open socket after its hello, or why not (a short text)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        websocket = None
        try:
            websocket = await connect(
                self.url(user_id),
                origin=ORIGIN,  # type: ignore[arg-type]
                compression=None,
                ping_interval=None,  # browsers send no protocol pings; the server's are answered
                open_timeout=60,
                close_timeout=5,
                max_size=2**20,
                proxy=None,
                user_agent_header=None,
                local_addr=(self.args.local_addr, 0) if self.args.local_addr else None,
            )
            hello = await asyncio.wait_for(websocket.recv(), timeout=60)
            if not isinstance(hello, str) or not hello.startswith('{"type":"hello"'):
                raise ValueError(f"first frame is not hello: {str(hello)[:80]}")
        except ConnectionClosed as closed:
            return f"closed {closed.rcvd.code if closed.rcvd is not None else None}"
        except Exception as error:  # counted and reported, never raised: it is a measurement
            if websocket is not None:
                websocket.transport.abort()
            return type(error).__name__ + (f" {error.errno}" if isinstance(error, OSError) else "")
        return websocket

    async def _receive(self, websocket: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        values, index = self.counters.values, self.base + RECEIVED
        latency_mode = self.args.latency
        monotonic_ns = time.monotonic_ns
        try:
            if not latency_mode:
                async for _ in websocket:
                    values[index] += 1
            else:
                sent, latency = self.sent, self.latency
                async for message in websocket:
                    received_at = monotonic_ns()
                    values[index] += 1
                    mark = message.rfind(SENT_MARK)
                    if mark < 0:
                        self.other_frames += 1
                        continue
                    sent_at = int(message[mark + len(SENT_MARK) : -1])
                    sent.append(sent_at)
                    latency.append(received_at - sent_at)
        except ConnectionClosed:
            pass
        finally:
            values[self.base + CLOSED] += 1
            received = websocket.close_code
            self.closes[str(received)] += 1

    def report(self) -> dict[str, Any]:
        connected = self.counters.get(self.args.slot, CONNECTED)
        closed = self.counters.get(self.args.slot, CLOSED)
        return {
            "connected": connected,
            "failed": self.counters.get(self.args.slot, FAILED),
            "open": connected - closed,
            "received": self.counters.get(self.args.slot, RECEIVED),
            "errors": dict(self.errors),
            "retried": dict(self.retried),
            "closes": dict(self.closes),
            "other_frames": self.other_frames,
            "sent_ns": self.sent.tolist(),
            "latency_ns": self.latency.tolist(),
        }

    async def close_all(self) -> None:
        async def close(websocket: Any) -> None:
            with contextlib.suppress(Exception):
                await websocket.close()

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(close(ws) for ws in self.sockets)), timeout=15)
        for websocket in self.sockets:
            websocket.transport.abort()


def reply(message: dict[str, Any]) -> None:
    with contextlib.suppress(BrokenPipeError):  # bench.realtime is gone: nobody to tell
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()


async def clients_main(args: argparse.Namespace) -> None:
    clients = Clients(args)
    seconds = await clients.open_all()
    clients.counters.values[clients.base + READY] = 1
    reply({"ready": True, "seconds": round(seconds, 3), **{k: v for k, v in clients.report().items() if "ns" not in k}})
    loop = asyncio.get_running_loop()
    while True:
        command = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if command == "report":
            reply(clients.report())
        elif command in ("quit", ""):  # "" is the end of stdin: bench.realtime is gone
            break
    await clients.close_all()
    reply({"quit": True})


# --- Publisher -----------------------------------------------------------------------------------


def message_json() -> bytes:
    """One ready-made UserMessage, as django-core's publisher stores it: a task.assigned event
    with its notification (the frame is this with the cursor spliced in)."""
    from taskflow_contracts import NotificationPayload, UserMessage
    from taskflow_contracts.events import Actor, TaskAssigned, TaskAssignedData, TaskRef, UserRef

    now = datetime.now(UTC)
    event = TaskAssigned(
        id=uuid.uuid4(),
        occurred_at=now,
        actor=Actor(id=7, name="Ada Lovelace"),
        data=TaskAssignedData(
            task=TaskRef(
                id=4242,
                title="Prepare the quarterly report",
                status="in_progress",
                priority="high",
                project_id=12,
                assignee_id=9,
                deadline=now,
            ),
            assignee=UserRef(id=9, name="Bob Builder"),
            previous_assignee_id=None,
        ),
    )
    notification = NotificationPayload(
        id=123456, message="Ada Lovelace assigned you “Prepare the quarterly report”", is_read=False, created_at=now
    )
    message = UserMessage(event=event, notification=notification)
    return message.model_dump_json(by_alias=True).encode()


class RedisWire:
    """SPUBLISH over a plain socket (RESP), pipelined: the replies are read as they come and
    counted, so the publisher stays far cheaper than what it feeds."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self._buffer = b""
        self.replies = 0
        self.unrouted = 0
        self.errors: list[str] = []
        if parts.password:
            user = unquote(parts.username) if parts.username else None
            auth = [b"AUTH", *([user.encode()] if user else []), unquote(parts.password).encode()]
            self.ask(command(*auth))
        database = parts.path.strip("/")
        if database and database != "0":
            # The history (--history) goes to the bench's database, not to database 0.
            self.ask(command(b"SELECT", database.encode()))

    def ask(self, data: bytes) -> None:
        """One command before the pipelined ones: sent, its reply awaited and not counted."""
        self.sock.sendall(data)
        self.wait_replies(1)
        self.replies = 0
        self.sock.settimeout(None)  # `drain` must never wait for data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def drain(self) -> None:
        """Reads whatever replies have arrived, without waiting."""
        while True:
            try:
                chunk = self.sock.recv(1 << 16, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError, TimeoutError):
                return
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self._parse(chunk)

    def wait_replies(self, expected: int, timeout: float = 30.0) -> None:
        self.sock.settimeout(timeout)
        while self.replies < expected:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self._parse(chunk)

    def _parse(self, chunk: bytes) -> None:
        data = self._buffer + chunk
        end = data.rfind(b"\r\n")
        if end < 0:
            self._buffer = data
            return
        self._buffer = data[end + 2 :]
        lines = data[:end].split(b"\r\n")
        self.replies += len(lines)
        for line in lines:
            if line == b":0":
                self.unrouted += 1
            elif line.startswith(b"-") and len(self.errors) < 5:
                self.errors.append(line.decode(errors="replace"))


def command(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + bulk_strings(*parts)


def bulk_strings(*parts: bytes) -> bytes:
    return b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


def user_wires(args: argparse.Namespace) -> tuple[list[RedisWire], list[int]]:
    """The publisher's connections, and for each user (in `users(args)` order) the index of the
    one that serves the user's shard channel `user:{7}`: a single node's, or on a Redis Cluster
    (`--cluster`) the connection to the primary owning the channel's slot."""
    if not args.cluster:
        return [RedisWire(args.redis_url)], [0] * args.users
    import redis
    from redis.crc import key_slot

    seed = redis.Redis.from_url(args.redis_url, socket_timeout=10)
    try:
        slots = seed.execute_command("CLUSTER SLOTS")
    finally:
        seed.close()
    ranges = [(int(start), int(end), (node[0].decode(), int(node[1]))) for start, end, node, *_ in slots]
    addresses = sorted({address for _, _, address in ranges})
    parts = urlsplit(args.redis_url)
    credentials = parts.netloc.rpartition("@")[0]
    wires = [RedisWire(f"{parts.scheme}://{credentials + '@' if credentials else ''}{h}:{p}") for h, p in addresses]
    owner = {}
    for start, end, address in ranges:
        for slot in range(start, end + 1):
            owner[slot] = addresses.index(address)
    return wires, [owner[key_slot(b"user:{%d}" % user)] for user in users(args)]


class DeliveryCommands:
    """`EVALSHA DELIVER_LUA` for one user and one event, as django-core calls it, in RESP: the
    script appends the message to the user's history and publishes the frame itself."""

    def __init__(self, user_ids: list[int]) -> None:
        from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, DELIVER_LUA, user_delivery_keys

        self.script = DELIVER_LUA.encode()
        sha = hashlib.sha1(self.script, usedforsecurity=False).hexdigest().encode()
        keys = len(user_delivery_keys(0))
        # ARGV: history length and TTL, dedupe TTL, now, event id, message, then no project,
        # board number, predecessor or flags (not a board event).
        start = [b"EVALSHA", sha, b"%d" % keys]
        fixed = [b"500", b"259200", b"%d" % DEDUPE_TTL_SECONDS, b"%d" % int(time.time())]
        # Each call: the head, then the event id and the message, then the four empty arguments.
        self.heads = [
            b"*%d\r\n" % (len(start) + keys + len(fixed) + 6)
            + bulk_strings(*start, *(key.encode() for key in user_delivery_keys(user)), *fixed)
            for user in user_ids
        ]
        self.tail = bulk_strings(b"", b"", b"", b"")

    def load(self) -> bytes:
        return command(b"SCRIPT", b"LOAD", self.script)

    def call(self, user_index: int, event_id: bytes, message: bytes) -> bytes:
        return self.heads[user_index] + bulk_strings(event_id, message) + self.tail


def publish_main(args: argparse.Namespace) -> None:
    counters = Counters(args.counters)
    values = counters.values
    published_index, done_index = args.slot * SLOT_WIDTH + PUBLISHED, args.slot * SLOT_WIDTH + READY
    received_indexes = [int(slot) * SLOT_WIDTH + RECEIVED for slot in args.received_slots.split(",") if slot]
    # The frame as django-core's delivery script publishes it: `{"type":"event","cursor":"<id>",`
    # + the UserMessage after its `{`. Cursors grow (<start ms>-<n>), as stream ids do.
    body = message_json()
    prefix, middle = b'{"type":"event","cursor":"', b'",' + body[1:]
    cursor_ms = time.time_ns() // 1_000_000
    heads = [b"*3\r\n$8\r\nSPUBLISH\r\n" + command(b"user:{%d}" % user)[4:] for user in users(args)]
    wires, wire_of = user_wires(args)
    delivery = DeliveryCommands(list(users(args))) if args.history else None
    if delivery is not None:
        for wire in wires:
            wire.ask(delivery.load())
    sent = [0] * len(wires)
    count = len(heads)
    published = 0
    started = time.perf_counter()
    stop = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.rate is None:
        # As fast as the sockets take them: at most `window` frames published and not yet received.
        values[args.slot * SLOT_WIDTH + STARTED] = time.monotonic_ns()
        end = started + args.seconds
        batch = max(1, min(args.batch, args.window))
        while not stop and time.perf_counter() < end:
            received = sum(values[index] for index in received_indexes)
            room = args.window - (published - received)
            if room < min(batch, args.window // 4 or 1):
                for wire in wires:
                    wire.drain()
                time.sleep(0.0002)
                continue
            parts: list[list[bytes]] = [[] for _ in wires]
            for _ in range(min(room, batch)):
                published += 1
                user = published % count
                if delivery is not None:
                    parts[wire_of[user]].append(delivery.call(user, b"e%d" % published, body))
                    continue
                frame = prefix + b"%d-%d" % (cursor_ms, published) + middle
                parts[wire_of[user]].append(heads[user] + b"$%d\r\n%s\r\n" % (len(frame), frame))
            for index, wire in enumerate(wires):
                if parts[index]:
                    wire.send(b"".join(parts[index]))
                    sent[index] += len(parts[index])
            values[published_index] = published
            for wire in wires:
                wire.drain()
        measured = published
        window_start_ns = 0
        behind = 0
    else:
        # Paced: event n goes at start + n / rate, with its send instant in the frame.
        interval = 1e9 / args.rate
        total = max(1, round((args.warmup + args.seconds) * args.rate))
        start_ns = time.monotonic_ns() + 20_000_000
        values[args.slot * SLOT_WIDTH + STARTED] = start_ns
        window_start_ns = start_ns + int(args.warmup * 1e9)
        measured = behind = 0
        open_body = middle[:-1]  # without the closing brace: the send instant goes last
        sent_mark = SENT_MARK.encode()
        for number in range(total):
            if stop:
                break
            target = start_ns + int(number * interval)
            delay = target - time.monotonic_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            elif delay < -1_000_000:
                behind += 1
            published += 1
            user = published % count
            sent_ns = time.monotonic_ns()
            wire = wires[wire_of[user]]
            if delivery is not None:
                message = body[:-1] + b"%s%d}" % (sent_mark, sent_ns)
                wire.send(delivery.call(user, b"e%d" % published, message))
            else:
                frame = (
                    prefix + b"%d-%d" % (cursor_ms, published) + open_body + b"%s%d}" % (SENT_MARK.encode(), sent_ns)
                )
                wire.send(heads[user] + b"$%d\r\n%s\r\n" % (len(frame), frame))
            sent[wire_of[user]] += 1
            values[published_index] = published
            if sent_ns >= window_start_ns:
                measured += 1
            wire.drain()
    elapsed = time.perf_counter() - started
    for wire, expected in zip(wires, sent, strict=True):
        with contextlib.suppress(OSError):
            wire.wait_replies(expected, timeout=30)
    values[done_index] = 1
    reply(
        {
            "published": published,
            "measured": measured,
            "window_start_ns": window_start_ns,
            "seconds": round(elapsed, 3),
            "behind_over_1ms": behind,
            "replies": sum(wire.replies for wire in wires),
            "unrouted": sum(wire.unrouted for wire in wires),
            "errors": [error for wire in wires for error in wire.errors][:5],
            "frame_bytes": len(prefix) + len(b"%d-%d" % (cursor_ms, published)) + len(middle),
            "redis_connections": len(wires),
        }
    )
    counters.close()


def users(args: argparse.Namespace) -> Iterator[int]:
    return iter(range(args.first_user, args.first_user + args.users))


# --- Command line --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime_load", description=__doc__.split("\n\n")[0])
    roles = parser.add_subparsers(dest="role", required=True)
    clients = roles.add_parser("clients", help="hold WebSocket clients and count what they receive")
    clients.add_argument("--url", required=True, help="ws://host:port/path, without the query string")
    clients.add_argument("--auth", choices=["ticket", "user"], required=True, help="?ticket=<signed> or ?user=<id>")
    clients.add_argument("--concurrency", type=int, default=64, help="handshakes in flight (default 64)")
    clients.add_argument("--local-addr", default="", help="source address (127.0.0.x) of the sockets")
    clients.add_argument("--retries", type=int, default=5, help="attempts more after a close 1013 (default 5)")
    clients.add_argument("--latency", action="store_true", help="record send -> receive time per frame")
    publish = roles.add_parser("publish", help="SPUBLISH ready-made frames to the users' shard channels")
    publish.add_argument("--redis-url", required=True)
    publish.add_argument("--cluster", action="store_true", help="--redis-url is a Redis Cluster node")
    publish.add_argument("--history", action="store_true", help="deliver with DELIVER_LUA (history + SPUBLISH)")
    publish.add_argument("--received-slots", default="", help="client slots whose received frames bound the window")
    publish.add_argument("--seconds", type=float, required=True)
    publish.add_argument("--window", type=int, default=4_000, help="frames in flight at most (unpaced mode)")
    publish.add_argument("--batch", type=int, default=200, help="SPUBLISH commands per write (unpaced mode)")
    publish.add_argument("--rate", type=float, default=None, help="paced: events per second")
    publish.add_argument("--warmup", type=float, default=0.0, help="paced: seconds before the measured window")
    for role in (clients, publish):
        role.add_argument("--first-user", type=int, required=True)
        role.add_argument("--users", type=int, required=True)
        role.add_argument("--counters", type=Path, required=True)
        role.add_argument("--slot", type=int, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.role == "publish":
        publish_main(args)
        return
    try:
        import uvloop
    except ImportError:
        asyncio.run(clients_main(args))
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(clients_main(args))
    os._exit(0)  # sockets are closed; skip tearing down thousands of objects


if __name__ == "__main__":
    main()
