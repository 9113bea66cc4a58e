"""Test support for the realtime relay: real relay processes (uvicorn on a free loopback port),
real Redis (the machine's, on a dedicated database, or a throwaway redis-server), a real
WebSocket client (python-websockets, sync API), tickets signed like django-core signs them and
events published through the same Lua script django-core runs."""

import base64
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import redis
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from taskflow_contracts import UserMessage, event_from_json
from taskflow_contracts.events import (
    Actor,
    TaskCreated,
    TaskCreatedData,
    TaskDeadlineApproaching,
    TaskDeadlineApproachingData,
    TaskRef,
    UserRevoked,
    UserRevokedData,
)
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, DELIVER_LUA, user_delivery_keys
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

REPO_DIR = Path(__file__).resolve().parents[2]
RELAY_DIR = REPO_DIR / "fastapi-realtime"
KEY_DIR = REPO_DIR / "var" / "keys"
SERVICE_TOKEN = "test-realtime-service-token-0123456789"
GATEWAY_ORIGIN = "http://localhost:8080"
HISTORY_LENGTH = 500
TIMEOUT = 10.0

_user_ids = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000 + 1_000_000_000)


def new_user_id() -> int:
    """A user id no other test (nor django-core's tests, which share Redis pub/sub channels
    across databases) uses."""
    return next(_user_ids)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], Any], *, timeout: float = TIMEOUT, interval: float = 0.02, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(interval)


# --- Tickets -------------------------------------------------------------------------------------


def private_key() -> str:
    return (KEY_DIR / "jwt_private.pem").read_text()


def sign_ticket(user_id: int, /, *, key: Any = None, algorithm: str = "EdDSA", **overrides: Any) -> str:
    """A ticket with the claims django-core's realtime_ticket_issue puts in; `overrides` replace
    claims (None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "taskflow",
        "aud": "ws",
        "token_type": "ws_ticket",
        "sub": str(user_id),
        "user_id": user_id,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 30,
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, private_key() if key is None else key, algorithm=algorithm)


def foreign_private_key() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )


# --- Events --------------------------------------------------------------------------------------


def task_ref(task_id: int = 1, title: str = "Launch", assignee_id: int | None = None) -> TaskRef:
    return TaskRef(
        id=task_id, title=title, status="todo", priority="high", project_id=3, assignee_id=assignee_id, deadline=None
    )


def task_created(*, title: str = "Launch", task_id: int = 1) -> TaskCreated:
    return TaskCreated(
        id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        actor=Actor(id=7, name="Ada"),
        data=TaskCreatedData(task=task_ref(task_id, title)),
    )


def user_revoked(user_id: int, *, occurred_at: datetime | None = None) -> UserRevoked:
    return UserRevoked(
        id=uuid.uuid4(),
        occurred_at=occurred_at or datetime.now(UTC),
        actor=None,
        data=UserRevokedData(user_id=user_id, reason="logout"),
    )


def deadline_approaching(user_id: int) -> TaskDeadlineApproaching:
    return TaskDeadlineApproaching(
        id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        actor=None,
        data=TaskDeadlineApproachingData(
            task=TaskRef(
                id=42,
                title="Ship it",
                status="in_progress",
                priority="urgent",
                project_id=3,
                assignee_id=user_id,
                deadline=datetime.now(UTC) + timedelta(hours=1),
            ),
            window="1h",
        ),
    )


def publish(client: Any, user_ids: list[int], event: Any, notification: dict[str, Any] | None = None) -> bool:
    """Delivers like django-core's publisher: DELIVER_LUA per recipient with a valid UserMessage
    (no board fields: the relay knows nothing of boards). True when some recipient had not had
    the event yet. `client`: a redis-py client of any topology (a RedisCluster routes each call
    to the recipient's slot)."""
    message = UserMessage.model_validate({"event": event, "notification": notification})
    message_json = message.model_dump_json(by_alias=True)
    delivered = False
    for user_id in user_ids:
        keys = user_delivery_keys(user_id)
        args = [HISTORY_LENGTH, 3600, DEDUPE_TTL_SECONDS, f"{time.time():.3f}", str(event.id), message_json]
        delivered |= client.eval(DELIVER_LUA, len(keys), *keys, *args, "", "", "", "") == 1
    return delivered


def publish_task(client: redis.Redis, user_ids: list[int], title: str = "Launch") -> str:
    event = task_created(title=title)
    assert publish(client, user_ids, event)
    return str(event.id)


# --- WebSocket clients ---------------------------------------------------------------------------


class Socket:
    """A client socket with JSON helpers."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(self.connection.recv(timeout=timeout))

    def send(self, message: str | bytes | dict[str, Any]) -> None:
        self.connection.send(json.dumps(message) if isinstance(message, dict) else message)

    def events(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        frames = [self.recv(timeout) for _ in range(count)]
        assert all(frame["type"] == "event" for frame in frames), frames
        return frames

    def silent(self, timeout: float = 0.3) -> bool:
        """True when nothing arrives within `timeout` (used only to check that a frame meant for
        someone else did not come: the positive case is always waited for first)."""
        try:
            frame = self.connection.recv(timeout=timeout)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected frame {frame!r}")

    def close_code(self, timeout: float = TIMEOUT) -> int | None:
        """Reads until the server closes; the close code it sent."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.connection.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.close()


@dataclass
class RelayProcess:
    """One relay instance: `uvicorn realtime_relay.main:app` in a subprocess."""

    name: str
    env: dict[str, str]
    log_dir: Path
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.trust_env = False  # never through a proxy

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"relay-{self.name}.log"

    def start(self) -> "RelayProcess":
        for _ in range(3):
            self.port = free_port()
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "realtime_relay.main:app",
                "--host=127.0.0.1",
                f"--port={self.port}",
                "--ws-per-message-deflate=false",
                f"--ws-ping-interval={self.ws_ping_interval}",
                f"--ws-ping-timeout={self.ws_ping_timeout}",
                "--ws-max-size=65536",
                "--timeout-graceful-shutdown=5",
            ]
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(command, cwd=RELAY_DIR, env=self.env, stdout=log, stderr=log)
            if self._ready():
                return self
            self.stop()
        raise AssertionError(f"relay {self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def _ready(self, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            with contextlib.suppress(requests.RequestException):
                if self.http.get(f"{self.base_url}/ws/health", timeout=1).status_code == 200:
                    return True
            time.sleep(0.05)
        return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout)

    def ws_url(self, ticket: str | None, cursor: str | None = None) -> str:
        url = f"ws://127.0.0.1:{self.port}/ws/notifications"
        params = [f"ticket={ticket}"] if ticket is not None else []
        if cursor is not None:
            params.append(f"cursor={cursor}")
        return url + ("?" + "&".join(params) if params else "")

    def health(self) -> requests.Response:
        return self.http.get(f"{self.base_url}/ws/health", timeout=5)

    def internal_health(self) -> requests.Response:
        """/ws/health plus what only operators see (instance id, topology, links by host:port)."""
        return self.http.get(f"{self.base_url}/ws/internal/health", timeout=5)

    def metrics(self) -> dict[str, float]:
        """The samples of /ws/metrics by name (with labels)."""
        text = self.http.get(f"{self.base_url}/ws/metrics", timeout=5).text
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples


class Sockets:
    """Opens client sockets for a test and closes them all at its end."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack

    def open(
        self,
        relay: RelayProcess,
        ticket: str | None,
        *,
        cursor: str | None = None,
        origin: str | None = GATEWAY_ORIGIN,
        sock: socket.socket | None = None,
        max_queue: int | None = 16,
    ) -> Socket:
        connection = self._stack.enter_context(
            connect(
                relay.ws_url(ticket, cursor),
                origin=origin,  # type: ignore[arg-type]
                proxy=None,
                open_timeout=TIMEOUT,
                close_timeout=2,
                sock=sock,
                max_queue=max_queue,
            )
        )
        socket_ = Socket(connection)
        self._stack.callback(socket_.close)
        return socket_

    def join(
        self, relay: RelayProcess, user_id: int, *, cursor: str | None = None, **kwargs: Any
    ) -> tuple[Socket, dict[str, Any]]:
        """A socket of `user_id` with a fresh ticket, and its hello."""
        sock = self.open(relay, sign_ticket(user_id), cursor=cursor, **kwargs)
        hello = sock.recv()
        assert hello["type"] == "hello", hello
        assert hello["user_id"] == user_id, hello
        return sock, hello


def event_id_of(frame: dict[str, Any]) -> str:
    return str(event_from_json(json.dumps(frame["event"])).id)


def cursor_key(cursor: str) -> tuple[int, int]:
    ms, _, seq = cursor.partition("-")
    return int(ms), int(seq)


# --- A throwaway Redis ---------------------------------------------------------------------------


@dataclass
class ThrowawayRedis:
    """A redis-server of the test's own (never the machine's), that can be killed and restarted
    on the same port."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "ThrowawayRedis":
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--dbfilename",
            "dump.rdb",
        ]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        wait_until(self._answers, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def forget_saved_data(self) -> None:
        (self.directory / "dump.rdb").unlink(missing_ok=True)


def raw_handshake(relay: RelayProcess, ticket: str) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads again (a dead
    peer, as far as the server can tell)."""
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/notifications?ticket={ticket} HTTP/1.1\r\nHost: 127.0.0.1:{relay.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        assert chunk, "connection closed during the handshake"
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def read_until_eof(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


@contextlib.contextmanager
def redis_client_for(url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()
