"""The whole TaskFlow stack for the end-to-end suite, started for real on free loopback ports.

django-core under gunicorn, the outbox relay, the Celery worker (mail to EMAIL_HOST/EMAIL_PORT:
the suite's SMTP sink), two fastapi-realtime instances under uvicorn, and nginx rendered from
gateway/nginx.conf.template by gateway/render.py, as `make run` does. Several
gateways (cheap: one nginx master each) share the services:

- `single`: one relay instance behind it (as `make run` by default);
- `pair`: both relay instances (REALTIME_UPSTREAMS with two addresses);
- `limits`: like `single` with a small per-address WebSocket connection limit, and its own rate
  limit zones, so the limit tests never throttle the others;
- `dead`: upstreams on ports where nothing listens (what clients see when a service is down).

Its own PostgreSQL database (created, migrated, dropped), its own Redis database (emptied) and a
user-id range no other suite uses, since Redis pub/sub channels are shared by every database.
Every process runs in its own session and gets SIGTERM if the test process dies; all of them
are stopped at the end.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
from psycopg import sql

REPO_DIR = Path(__file__).resolve().parents[2]
DJANGO_DIR = REPO_DIR / "django-core"
RELAY_DIR = REPO_DIR / "fastapi-realtime"
BOT_DIR = REPO_DIR / "telegram-bot"
KEY_DIR = REPO_DIR / "var" / "keys"
VENV_BIN = Path(sys.executable).parent
SERVICE_TOKEN = "e2e-realtime-service-token-0123456789abcdef"
START_TIMEOUT = 60.0

sys.path.insert(0, str(REPO_DIR / "gateway"))
import render as gateway_render  # noqa: E402  (gateway/render.py: standard library only)

from tests.telegram_bot import botapi as bot_api  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: its own session (a Ctrl-C reaches only pytest, which stops the
    stack itself), and SIGTERM when pytest dies without cleaning up."""
    os.setsid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Process:
    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    stopped: bool = False  # stopped on purpose: not a crash

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        self.stopped = True
        if not self.running:
            return
        assert self.popen is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return f"--- {self.name} ({self.log_path}) ---\n" + "\n".join(text.splitlines()[-lines:])


@dataclass
class Gateway:
    name: str
    port: int
    access_log: Path
    process: Process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class Relay:
    name: str
    port: int
    process: Process

    def health(self) -> dict[str, Any]:
        """The instance's own health with its operator detail (read directly, only to observe
        where sockets landed; the gateway answers /ws/internal/* with 404)."""
        return requests.get(f"http://127.0.0.1:{self.port}/ws/internal/health", timeout=5).json()


@dataclass
class Stack:
    work_dir: Path
    database_url: str
    redis_url: str
    user_id_start: int
    django_port: int = field(default_factory=free_port)
    # The /metrics, /live, /ready servers of the outbox relay and the worker (docs/operations.md).
    outbox_metrics_port: int = field(default_factory=free_port)
    worker_metrics_port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    relays: dict[str, Relay] = field(default_factory=dict)
    gateways: dict[str, Gateway] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    # --- Environment ---------------------------------------------------------------------------

    def origins(self) -> str:
        return ",".join(gateway.url for gateway in self.gateways.values())

    def env(self, **overrides: str) -> dict[str, str]:
        # Nothing from a developer's own configuration leaks in, except what running needs.
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "PYTHONPATH")
        env = {name: value for name, value in os.environ.items() if name in keep}
        env.update(
            DJANGO_ENV="development",
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY="e2e-secret-key-" + "x" * 40,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.database_url,
            DATABASE_POOL_MAX_SIZE="8",
            REDIS_URL=self.redis_url,
            JWT_PRIVATE_KEY_FILE=str(KEY_DIR / "jwt_private.pem"),
            JWT_PUBLIC_KEY_FILE=str(KEY_DIR / "jwt_public.pem"),
            STATIC_ROOT=str(self.work_dir / "static"),
            # JSON lines at INFO: tests/e2e/test_observability.py follows a request id through them.
            LOG_LEVEL="INFO",
            LOG_FORMAT="json",
            LOG_DELIVERIES="true",
            OUTBOX_METRICS_PORT=str(self.outbox_metrics_port),
            WORKER_METRICS_PORT=str(self.worker_metrics_port),
            OUTBOX_RELAY_INTERVAL="0.2",
            REALTIME_SERVICE_TOKEN=SERVICE_TOKEN,
            WS_CLOSE_TIMEOUT="3",
            WS_DRAIN_TIMEOUT="2",
            PYTHONUNBUFFERED="1",
            # Mail goes to the console unless the mail sink is set up (EMAIL_HOST in extra_env).
            EMAIL_HOST="",
            # Every e2e client signs up and signs in from 127.0.0.1: the per-address limits are
            # checked by tests/django_core (and the gateway's by test_gateway.py), not tripped here.
            THROTTLE_RATE_REGISTER="10000/hour",
            LOGIN_FAILURES_PER_ADDRESS="10000",
        )
        if self.gateways:
            env["DJANGO_CSRF_TRUSTED_ORIGINS"] = self.origins()
            env["WS_ALLOWED_ORIGINS"] = self.origins()
            env["PUBLIC_URL"] = next(iter(self.gateways.values())).url
        env.update(self.extra_env)
        env.update(overrides)
        return env

    # --- Processes -----------------------------------------------------------------------------

    def _process(self, name: str, command: list[str], cwd: Path, env: dict[str, str]) -> Process:
        process = Process(name, command, cwd, env, self.work_dir / f"{name}.log")
        self.processes.append(process)
        return process.start()

    def manage(self, *args: str, timeout: float = 180) -> None:
        completed = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=DJANGO_DIR,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")

    def start_django(self, name: str = "django", port: int | None = None, workers: int = 2, **overrides: str) -> None:
        """django-core under gunicorn: the stack's own, or (name, port, environment overrides)
        another one, e.g. against a database that is down."""
        self._process(
            name,
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port or self.django_port}",
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--graceful-timeout",
                "5",
            ],
            DJANGO_DIR,
            self.env(**overrides),
        )

    def start_outbox_relay(self) -> None:
        self._process("outbox", [sys.executable, "manage.py", "outbox_relay"], DJANGO_DIR, self.env())

    def start_worker(self, *, name: str = "worker", concurrency: int = 2, **env: str) -> Process:
        """The Celery worker, as the Procfile runs it: the prefork pool (a pool process that dies
        has its task requeued at once; docs/background.md)."""
        return self._process(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"{name}@%h",
            ],
            DJANGO_DIR,
            self.env(**env),
        )

    def start_beat(self, *, name: str = "beat", **env: str) -> Process:
        """celery beat, as the Procfile runs it (the DatabaseScheduler; its schedule file in the
        work directory). The fault tests start two to show that is safe."""
        return self._process(
            name,
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.work_dir / f"{name}-schedule"),
            ],
            DJANGO_DIR,
            self.env(**env),
        )

    def start_bot(self, api_base: str) -> int:
        """The Telegram bot, as the Procfile runs it, against a local Bot API server; returns the
        port of its /health."""
        port = free_port()
        env = self.env(
            TELEGRAM_BOT_TOKEN=bot_api.TEST_BOT_TOKEN,
            TELEGRAM_API_URL=api_base,
            DJANGO_INTERNAL_URL=f"http://127.0.0.1:{self.django_port}",
            BOT_HEALTH_PORT=str(port),
            TELEGRAM_CONSUMER_NAME="e2e-bot",
        )
        self._process("bot", [sys.executable, "-m", "taskflow_bot"], BOT_DIR, env)
        return port

    def start_relay(self, name: str, port: int | None = None, **overrides: str) -> Relay:
        port = port or free_port()
        process = self._process(
            f"realtime-{name}",
            [
                str(VENV_BIN / "uvicorn"),
                "realtime_relay.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws-ping-interval",
                "20",
                "--ws-ping-timeout",
                "20",
                "--ws-per-message-deflate",
                "false",
                "--ws-max-size",
                "65536",
                "--timeout-graceful-shutdown",
                "5",
                "--no-access-log",  # as the Procfile: an access line would carry the ticket
            ],
            RELAY_DIR,
            self.env(**overrides),
        )
        self.relays[name] = Relay(name, port, process)
        return self.relays[name]

    def plan_gateway(self, name: str) -> None:
        """Reserves the gateway's port first: every service must know every gateway origin."""
        self.gateways[name] = Gateway(name, free_port(), self.work_dir / f"gateway-{name}.access.log", None)  # type: ignore[arg-type]

    def start_gateway(self, name: str, *, realtime: list[str], django: str | None = None, **settings: str) -> Gateway:
        gateway = self.gateways[name]
        runtime_dir = self.work_dir / f"gateway-{name}"
        values = {
            "GATEWAY_LISTEN": f"127.0.0.1:{gateway.port}",
            "DJANGO_UPSTREAM": django or f"127.0.0.1:{self.django_port}",
            "REALTIME_UPSTREAMS": ",".join(realtime),
            "GATEWAY_RUNTIME_DIR": str(runtime_dir),
            "GATEWAY_ACCESS_LOG": str(gateway.access_log),
            "GATEWAY_WORKER_PROCESSES": "1",
            "GATEWAY_ERROR_LOG_LEVEL": "warn",
        }
        env = self.env(**{**values, **settings})
        config = gateway_render.write(runtime_dir, env)
        nginx = gateway_render.find_nginx(env)
        command = gateway_render.nginx_command(nginx, config, str(runtime_dir), "-g", "daemon off;")
        gateway.process = self._process(f"gateway-{name}", command, REPO_DIR, env)
        return gateway

    def wait_ready(self, url: str, *, what: str, status: int = 200) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            dead = [process for process in self.processes if not (process.stopped or process.running)]
            if dead:
                raise RuntimeError(
                    f"{', '.join(p.name for p in dead)} exited while waiting for {what}:\n"
                    + "\n".join(p.log_tail() for p in dead)
                )
            try:
                response = requests.get(url, timeout=2)
                if response.status_code == status:
                    return
                last = (response.status_code, response.text[:200])
            except requests.RequestException as error:
                last = error
            time.sleep(0.1)
        raise RuntimeError(f"{what} not ready at {url} within {START_TIMEOUT:.0f} s (last: {last})\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(process.log_tail() for process in self.processes)

    def stop(self) -> None:
        # The gateways first (no new requests), then the services, in reverse start order.
        for process in reversed(self.processes):
            process.stop()


# --- Database and Redis ------------------------------------------------------------------------


def admin_url(database_url: str) -> str:
    return urlsplit(database_url)._replace(path="/postgres").geturl()


def database_name(database_url: str) -> str:
    return urlsplit(database_url).path.lstrip("/")


def recreate_database(database_url: str) -> None:
    name = database_name(database_url)
    with psycopg.connect(admin_url(database_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(database_url: str) -> None:
    name = database_name(database_url)
    with psycopg.connect(admin_url(database_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def start_user_ids_at(database_url: str, first_id: int) -> None:
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s, false)", [first_id])


@contextlib.contextmanager
def running_stack(
    work_dir: Path,
    *,
    database_url: str,
    redis_url: str,
    user_id_start: int,
    extra_env: dict[str, str] | None = None,
    gateway_settings: dict[str, str] | None = None,
    before_services: Callable[[Stack], None] | None = None,
    bot_api_base: str | None = None,
) -> Iterator[Stack]:
    """Creates and migrates the database, starts everything, waits until every gateway answers
    through to its upstreams; stops everything and drops the database at the end."""
    import redis

    stack = Stack(work_dir, database_url, redis_url, user_id_start, extra_env=dict(extra_env or {}))
    for name in ("single", "pair", "limits", "dead"):
        stack.plan_gateway(name)
    recreate_database(database_url)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    try:
        stack.manage("migrate", "--noinput", "-v", "0")
        stack.manage("collectstatic", "--noinput", "-v", "0")
        start_user_ids_at(database_url, user_id_start)
        stack.start_django()
        stack.start_outbox_relay()
        stack.start_worker()
        bot_health = stack.start_bot(bot_api_base) if bot_api_base else None
        if before_services is not None:
            before_services(stack)
        relay_a = stack.start_relay("a")
        relay_b = stack.start_relay("b")
        a, b = f"127.0.0.1:{relay_a.port}", f"127.0.0.1:{relay_b.port}"
        tuned = dict(gateway_settings or {})
        stack.start_gateway("single", realtime=[a], **tuned)
        stack.start_gateway("pair", realtime=[a, b], **tuned)
        stack.start_gateway("limits", realtime=[a], **{**tuned, "GATEWAY_WS_CONNECTIONS_PER_IP": "3"})
        closed = [free_port(), free_port()]
        stack.start_gateway("dead", realtime=[f"127.0.0.1:{closed[1]}"], django=f"127.0.0.1:{closed[0]}", **tuned)
        for name in ("single", "pair", "limits"):
            gateway = stack.gateways[name]
            stack.wait_ready(f"{gateway.url}/api/health", what=f"django-core through the {name} gateway")
            stack.wait_ready(f"{gateway.url}/ws/health", what=f"the relay through the {name} gateway")
        for relay in stack.relays.values():
            stack.wait_ready(f"http://127.0.0.1:{relay.port}/ws/health", what=f"relay {relay.name}")
        stack.wait_ready(f"{stack.gateways['dead'].url}/gateway/health", what="the dead-upstream gateway")
        if bot_health is not None:
            stack.wait_ready(f"http://127.0.0.1:{bot_health}/health", what="the Telegram bot")
        yield stack
    finally:
        stack.stop()
        drop_database(database_url)
