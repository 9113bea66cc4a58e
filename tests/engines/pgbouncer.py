"""PgBouncer in transaction mode on a free loopback port, in front of the PostgreSQL that
DATABASE_URL names (every database on it: `* = host=... port=...`).

    with running_pgbouncer("postgres://postgres@127.0.0.1:5432/taskflow") as bouncer:
        env["DATABASE_URL"] = bouncer.url("test_something")

Clients are let in as the upstream URL's user (`auth_type = trust` with that user in the auth
file; its password, if any, is what PgBouncer logs in to PostgreSQL with). PgBouncer refuses to
run as root: as root it runs as `postgres` (or `nobody`), with its files in a directory of its
own under the system's temporary directory (pytest's are private to the user running it).
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from tests.engines.processes import (
    Process,
    as_user,
    find_binary,
    free_port,
    hand_over,
    start_process,
    unprivileged_user,
    wait_for,
)

START_TIMEOUT = 15.0
DEFAULT_UPSTREAM = "postgres://postgres@127.0.0.1:5432/taskflow"


@dataclass
class PgBouncerEngine:
    port: int
    user: str
    password: str
    process: Process

    def url(self, database: str) -> str:
        """A DATABASE_URL for `database` through PgBouncer."""
        credentials = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", **options: object) -> psycopg.Connection:
        # prepare_threshold=None: psycopg never prepares on the server, as behind any PgBouncer.
        return psycopg.connect(self.url(database), prepare_threshold=None, connect_timeout=5, **options)  # type: ignore[arg-type]

    def logs(self) -> str:
        return self.process.log_tail()


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@contextlib.contextmanager
def running_pgbouncer(upstream_url: str = DEFAULT_UPSTREAM) -> Iterator[PgBouncerEngine]:
    binary = find_binary("pgbouncer", "pgbouncer")
    with tempfile.TemporaryDirectory(prefix="taskflow-pgbouncer-") as folder:
        yield from _run(binary, Path(folder), upstream_url)


def _run(binary: str, work_dir: Path, upstream_url: str) -> Iterator[PgBouncerEngine]:
    upstream = urlsplit(upstream_url)
    user = unquote(upstream.username or "postgres")
    password = unquote(upstream.password or "")
    port = free_port()
    run_as = unprivileged_user()
    hand_over(work_dir, run_as)
    (work_dir / "userlist.txt").write_text(f"{_quoted(user)} {_quoted(password)}\n")
    config = work_dir / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={upstream.hostname or '127.0.0.1'} port={upstream.port or 5432}\n"
        "\n[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {work_dir / 'userlist.txt'}\n"
        f"admin_users = {user}\n"
        # A server connection belongs to a client for one transaction only: nothing a session
        # sets (a prepared statement, SET, an advisory lock) survives to the next transaction.
        "pool_mode = transaction\n"
        "max_client_conn = 1000\n"
        "default_pool_size = 40\n"
        # psycopg and Django send these at connection time; PgBouncer would refuse the client.
        "ignore_startup_parameters = extra_float_digits,options\n"
        "server_check_delay = 0\n"
        f"pidfile = {work_dir / 'pgbouncer.pid'}\n"
    )
    process = start_process("pgbouncer", as_user([binary, str(config)], run_as), work_dir)
    engine = PgBouncerEngine(port, user, password, process)
    try:
        wait_for("PgBouncer listening", lambda: _listening(port), timeout=START_TIMEOUT, processes=[process])
        with engine.connect() as connection:
            connection.execute("SELECT 1")
        yield engine
    finally:
        process.stop()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
