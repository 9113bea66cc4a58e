"""What the engine and relay fault tests share: a small stack (django-core, the outbox relay, the
relay instances a test needs and one gateway; no worker, no bot), a client that follows its
socket through outages as an app would, and the database checks that say nothing was lost.

Each stack has its own PostgreSQL database, `<DATABASE_TEST_NAME or test_taskflow>_faults_<x>`
(a copy of one migrated once per test process; dropped at the end), and user ids from
FAULTS_USER_IDS on: Redis pub/sub channels are shared by every database of a server, so no other
suite's `user:{id}` may meet these.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
from psycopg import sql
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.e2e.client import Person, Socket
from tests.e2e.stack import Stack, admin_url, database_name, drop_database, recreate_database, start_user_ids_at

# The fault suite's user ids (the e2e suite's start at 900,000,000, the unit suites' far lower).
FAULTS_USER_IDS = 700_000_000
GATEWAY = "faults"

# Quick enough for a test of seconds: the relay looks every 0.2 s, leaves the fast path 0.5 s and
# lets a row done in Redis settle for 1 s (OUTBOX_SETTLE is for a Sentinel switch-over's lost
# writes; a single node has none) before the watermark passes it.
QUICK_OUTBOX = {"OUTBOX_RELAY_INTERVAL": "0.2", "OUTBOX_RELAY_GRACE": "0.5", "OUTBOX_SETTLE": "1"}


def faults_database_url(suffix: str, *, base_url: str | None = None) -> str:
    """This test's database on the shared server (or on `base_url`'s)."""
    base = urlsplit(base_url or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow")
    name = f"{os.environ.get('DATABASE_TEST_NAME') or 'test_taskflow'}_faults_{suffix}"
    return base._replace(path=f"/{name}").geturl()


@functools.cache
def migrated_template() -> str:
    """A database on the shared server migrated once per test process (dropped at its exit): each
    stack's database is a copy of it. Migrating takes 3 s on a quiet 2-core machine and over 14 s
    on a busy one, copying a fraction of a second."""
    url = faults_database_url("engines_template")
    recreate_database(url)
    atexit.register(drop_database, url)
    with tempfile.TemporaryDirectory(prefix="taskflow-faults-migrate-") as folder:
        Stack(Path(folder), url, "redis://127.0.0.1:1/0", FAULTS_USER_IDS).manage("migrate", "--noinput", "-v", "0")
    return url


def copy_database(template_url: str, database_url: str) -> None:
    """`database_url` (dropped first if it exists) as a copy of `template_url`: CREATE DATABASE
    ... TEMPLATE on the same server, else pg_dump into it."""
    template, target = urlsplit(template_url), urlsplit(database_url)
    name = sql.Identifier(database_name(database_url))
    with psycopg.connect(admin_url(database_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if template.netloc == target.netloc:
            source = sql.Identifier(database_name(template_url))
            connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(name, source))
            return
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
    from tests.faults.postgres import postgres_bin_dir

    dump = subprocess.run(
        [str(postgres_bin_dir() / "pg_dump"), "--no-owner", "--no-privileges", "--dbname", template_url],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(
        [str(postgres_bin_dir() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "--dbname", database_url],
        input=dump.stdout,
        capture_output=True,
        check=True,
        timeout=60,
    )


@contextlib.contextmanager
def small_stack(
    work_dir: Path,
    *,
    database_url: str,
    redis_url: str,
    relays: tuple[str, ...] = ("a",),
    user_id_start: int = FAULTS_USER_IDS,
    extra_env: dict[str, str] | None = None,
    outbox_relay: bool = True,
) -> Iterator[Stack]:
    """django-core (gunicorn), the outbox relay, `relays` and one gateway (`faults`) in front of
    them (no gateway without relays: the test talks to gunicorn), on a fresh copy of the migrated
    database; everything killed (nothing of it outlives the test: no need to wait for graceful
    stops) and the database dropped at the end."""
    stack = Stack(work_dir, database_url, redis_url, user_id_start, extra_env={**QUICK_OUTBOX, **(extra_env or {})})
    if relays:
        stack.plan_gateway(GATEWAY)
    copy_database(migrated_template(), database_url)
    try:
        start_user_ids_at(database_url, user_id_start)
        stack.start_django()
        if outbox_relay:
            stack.start_outbox_relay()
        started = [stack.start_relay(name) for name in relays]
        if started:
            gateway = stack.start_gateway(GATEWAY, realtime=[f"127.0.0.1:{relay.port}" for relay in started])
            stack.wait_ready(f"{gateway.url}/api/health", what="django-core through the gateway")
        else:
            stack.wait_ready(f"{django_url(stack)}/api/health", what="django-core")
        for relay in started:
            stack.wait_ready(f"http://127.0.0.1:{relay.port}/ws/health", what=f"relay {relay.name}")
        try:
            yield stack
        except BaseException:
            print(stack.logs())  # shown with the failure: the processes' state explains it
            raise
    finally:
        for process in reversed(stack.processes):
            process.stop(signal.SIGKILL)
        drop_database(database_url)


def django_url(stack: Stack) -> str:
    """django-core's own address (gunicorn, no gateway)."""
    return f"http://127.0.0.1:{stack.django_port}"


# --- The database's side ----------------------------------------------------------------------

# OutboxEvent rows the outbox relay's watermark has not passed (notifications.publisher.
# outbox_published, in SQL): none once everything committed is out.
UNPUBLISHED_SQL = """
SELECT count(*) FROM notifications_outboxevent AS row
WHERE NOT EXISTS (
  SELECT 1 FROM notifications_outboxwatermark AS mark
  WHERE mark.id = 1 AND (mark.xid > row.xid OR (mark.xid = row.xid AND mark.outbox_id >= row.id))
)
"""


def unpublished_rows(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=3) as connection:
        row = connection.execute(UNPUBLISHED_SQL).fetchone()
    assert row is not None
    return int(row[0])


def wait_drained(database_url: str, *, timeout: float) -> float:
    """Waits until the outbox relay has passed every row; how long that took."""
    started = time.monotonic()
    left = -1
    while time.monotonic() - started < timeout:
        left = unpublished_rows(database_url)
        if left == 0:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{left} outbox row(s) still unpublished {timeout:g} s after the fault")


# --- The client's side ------------------------------------------------------------------------


def another_session(person: Person) -> Person:
    """The same signed-in person with a connection pool of its own (one per thread)."""
    return dataclasses.replace(person, session=requests.Session())


def project_task_ids(person: Person, project_id: int) -> set[int]:
    """Every task of the project, as the REST API lists it (all pages)."""
    found: set[int] = set()
    page = 1
    while True:
        listing = person.ok("GET", f"/api/tasks?project={project_id}&page_size=100&page={page}")
        found.update(task["id"] for task in listing["results"])
        if not listing["next"]:
            return found
        page += 1


@dataclass
class Follower:
    """An app's live view of one project, in a thread: it reads its socket, and when the socket
    closes it reconnects through the gateway with the last cursor it saw (again and again while
    that fails: a ticket needs Redis). On `resync` it refetches the project's tasks over REST, as
    the protocol asks. What it saw is kept for the test to compare with what was written."""

    person: Person
    ws_base: str
    project_id: int
    cursor: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # event frames, in arrival order
    created_seen: set[int] = field(default_factory=set)  # task ids of task.created frames
    refetched: set[int] = field(default_factory=set)  # task ids found by refetches after resync
    resyncs: int = 0
    connections: int = 0
    reconnect_failures: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    socket: Socket | None = None

    def start(self) -> Follower:
        self.person = another_session(self.person)
        self.socket = self._connect()
        self._thread = threading.Thread(target=self._run, name="follower", daemon=True)
        self._thread.start()
        return self

    def _connect(self) -> Socket:
        socket = Socket.open(self.person, self.ws_base, cursor=self.cursor)
        self.connections += 1
        if self.cursor is None:
            self.cursor = socket.cursor
        return socket

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.socket is None:
                try:
                    self.socket = self._connect()
                except (AssertionError, OSError, InvalidHandshake, InvalidStatus, TimeoutError, ConnectionClosed):
                    self.reconnect_failures += 1
                    time.sleep(0.2)
                continue
            try:
                frame = self.socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            except (ConnectionClosed, OSError):
                self.socket = None
                continue
            self._take(frame)

    def _take(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "event":
            self.cursor = frame["cursor"]
            event = frame["event"]
            with self._changed:
                self.events.append(event)
                if event["type"] == "task.created":
                    self.created_seen.add(event["data"]["task"]["id"])
                self._changed.notify_all()
        elif frame["type"] == "resync":
            self.resyncs += 1
            try:
                found = project_task_ids(self.person, self.project_id)
            except (AssertionError, requests.RequestException) as error:
                self.errors.append(f"refetch after resync failed: {error}")
                return
            with self._changed:
                self.refetched |= found
                self._changed.notify_all()
        elif frame["type"] == "error":
            self.errors.append(str(frame))

    def wait_created(self, task_id: int, *, timeout: float) -> bool:
        """Whether a task.created frame of `task_id` arrived within `timeout` s."""
        with self._changed:
            return self._changed.wait_for(lambda: task_id in self.created_seen, timeout=timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.socket is not None:
            with contextlib.suppress(Exception):
                self.socket.close()


@dataclass
class Write:
    sent: float  # monotonic
    answered: float
    status: int  # 0: no answer (connection refused, timeout)
    task_id: int | None = None
    body: str = ""


@dataclass
class WriteLoad:
    """POST /api/tasks at `rate` per second in a thread until stopped; every attempt recorded."""

    person: Person
    project_id: int
    rate: float = 20.0
    timeout: float = 5.0
    writes: list[Write] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> WriteLoad:
        self.person = another_session(self.person)
        self._thread = threading.Thread(target=self._run, name="write-load", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        period = 1.0 / self.rate
        next_at = time.monotonic()
        number = 0
        while not self._stop.is_set():
            number += 1
            self.writes.append(self.write(f"Load {number}"))
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))

    def write(self, title: str) -> Write:
        sent = time.monotonic()
        body = {"project": self.project_id, "title": title, "assignee": self.person.id}
        headers = {"Authorization": f"Bearer {self.person.access}"}
        try:
            response = self.person.session.post(
                f"{self.person.base_url}/api/tasks", json=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as error:
            return Write(sent, time.monotonic(), 0, body=str(error))
        created = response.json()["id"] if response.status_code == 201 else None
        return Write(sent, time.monotonic(), response.status_code, created, response.text[:300])

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 2)

    @property
    def created(self) -> set[int]:
        return {write.task_id for write in self.writes if write.task_id is not None}

    @property
    def refused(self) -> list[Write]:
        return [write for write in self.writes if write.status != 201]

    def longest_refusal(self) -> float:
        """Seconds from the first to the last answer of the longest run of refused writes (0.0 when
        none was refused; a lone refusal counts as its own request's time)."""
        longest, run_start = 0.0, None
        for write in self.writes:
            if write.status == 201:
                run_start = None
                continue
            run_start = write.sent if run_start is None else run_start
            longest = max(longest, write.answered - run_start)
        return longest
