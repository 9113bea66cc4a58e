"""Benchmark of the realtime relay (`make bench`): fastapi-realtime next to its ceilings, two
minimal relays (bench/minimal_relay.py: a bare redis.asyncio subscriber feeding the `websockets`
library's asyncio server, compression off, the user id read from the query string): `minimal`
as is, and `minimal-history`, which also keeps history. The relay and minimal-history are fed as
django-core feeds the relay in production, one DELIVER_LUA call per event and user (XADD to the
user's history stream, then SPUBLISH; minimal-history's hello reads that stream's last id);
`minimal` gets a bare SPUBLISH of a ready-made frame. So relay / minimal includes the history
write the bare minimal relay does not do, and relay / minimal-history compares like with like.
One server process each, on this machine, with the load generator on the same machine. Every
part runs `--rounds` (3) times per server, the order rotating from round to round, and reports
each figure's median. Figures are printed, never asserted; each is shown with its ratios, and
issue 17's goals (messages/s >= 0.85x, RSS per idle socket <= 2x, p99 <= minimal + 2 ms,
handshake CPU <= 1.5x) in a table of their own.

1. **Idle connections.** `--idle-connections` (10,000) sockets, one per user, each with a fresh
   single-use ticket signed like django-core signs them, opened by client processes of ~2,500
   sockets each (asyncio + the websockets client, each process from its own 127.0.0.x source
   address). Once every socket has its `hello` and things settle: how many are held, and the
   server's RSS growth per socket (VmRSS after - before, / sockets held). Goals: >= 10,000
   sockets, <= 40 KiB each. The server's CPU time while they open, / sockets: the handshake CPU
   per new socket (ticket check and burn, subscription, history read, presence, for the relay).
   A socket closed with 1013 (try again later) before its hello is
   opened again after a pause, as the protocol tells clients to; those refusals are reported.
2. **Delivered messages/s.** `--users` (1,000) users with one socket each; a publisher process
   delivers event frames (a task.assigned UserMessage with its notification) to the shard
   channel `user:{id}` (see above: DELIVER_LUA or a bare SPUBLISH), round-robin, pipelined, as
   fast as the sockets take them: at most `--window` frames published and not yet received.
   Measured over `--duration` s after `--warmup` s. Server CPU per message (from /proc) is shown
   too: it moves less than messages/s when the machine is shared. Goal: >= 20,000 messages/s.
3. **Publish -> socket latency.** The same 1,000 users; events paced at `--latency-rate` (1,000)
   per second, each frame carrying its send instant (CLOCK_MONOTONIC, shared by every process on
   the machine); each client takes receive - send. p50/p95/p99/max over `--duration` s after
   `--warmup` s. Goal: p99 <= 10 ms.
4. **The relay on a Redis Cluster vs on a single node.** Parts 2 and 3 for the relay alone, on a
   private single redis-server and on a Redis Cluster of three masters (tests/engines), both
   started here on free loopback ports with the same options (no persistence). On the Cluster
   the relay holds one pub/sub connection per primary and the publisher SPUBLISHes each frame to
   the node owning the user's slot. Printed side by side; goal: cluster >= 0.8x the single
   node's messages/s (and p99 <= 10 ms on both).

    .venv/bin/python -m bench.realtime [--quick] [--idle-connections 10000] [--users 1000]
        [--duration 10] [--rounds 3] [--latency-rate 1000] [--part idle|throughput|latency|cluster]
        [--target relay|minimal|minimal-history] [--relay-dir DIR]

The relay runs as the Procfile runs it (uvicorn, one process, no --workers, compression off,
pings every 20 s) with its default settings, from `--relay-dir` (default fastapi-realtime/; an
older commit's copy gives before/after figures); the minimal relays ping every 20 s too. Both use
Redis database 15 (BENCH_REALTIME_REDIS_URL overrides it), flushed at the start; pub/sub channels
are not per database, so the bench's user ids are far above any real one. RLIMIT_NOFILE is
raised to its hard limit here and in every child. Children run in their own sessions and are
stopped at the end, on Ctrl-C and on SIGTERM (and get SIGTERM if this process dies). Results also
go to bench/results/realtime.json; the servers' and clients' logs to a temporary directory
(`--log-dir` keeps them).
"""

import argparse
import contextlib
import ctypes
import http.client
import json
import math
import os
import platform
import random
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import (
    REPO_DIR,
    RESULTS_DIR,
    ensure_jwt_keys,
    free_port,
    report_machine_load,
    run_main,
    step,
    write_results,
)
from bench.common import cpu_seconds as process_cpu_seconds
from bench.events import distribution, report_part_load
from bench.realtime_load import (
    CONNECTED,
    FAILED,
    PUBLISHED,
    READY,
    RECEIVED,
    STARTED,
    Counters,
)

RESULTS_PATH = RESULTS_DIR / "realtime.json"
RELAY_DIR = REPO_DIR / "fastapi-realtime"
REDIS_URL = "redis://127.0.0.1:6379/15"
TARGETS = ("relay", "minimal", "minimal-history")
# Who keeps history: the relay is fed as django-core feeds it (DELIVER_LUA: XADD to the user's
# stream, then SPUBLISH), and so is the minimal relay that keeps history; the bare minimal
# relay gets the bare SPUBLISH of a ready-made frame.
KEEPS_HISTORY = {"relay": True, "minimal": False, "minimal-history": True}
PARTS = ("idle", "throughput", "latency", "cluster")
GOAL_IDLE_CONNECTIONS = 10_000
GOAL_KIB_PER_CONNECTION = 40.0
GOAL_MESSAGES_PER_S = 20_000.0
GOAL_P99_MS = 10.0
# The relay on a Redis Cluster delivers at least this share of what it delivers on one node.
GOAL_CLUSTER_RATIO = 0.8
# Issue 17, each a ratio to the minimal relay measured in the same run.
GOAL_MESSAGES_RATIO = 0.85  # messages/s >= 0.85x the minimal relay's (and the one keeping history)
GOAL_RSS_RATIO = 2.0  # RSS per idle socket <= 2x
GOAL_P99_EXTRA_MS = 2.0  # publish -> socket p99 <= the minimal relay's + 2 ms
GOAL_HANDSHAKE_RATIO = 1.5  # server CPU per new socket <= 1.5x
# Far above any real user id: pub/sub channels are shared by every Redis database.
USER_ID_BASE = 900_000_000_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.realtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 idle sockets, 3 s windows, 1 s warm-up")
    parser.add_argument(
        "--idle-connections", type=int, default=None, help="part 1: sockets to hold (default 10000; quick 2000)"
    )
    parser.add_argument("--users", type=int, default=1_000, help="parts 2 and 3: users, one socket each (1000)")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds, parts 2 and 3 (default 10)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds before (default 3)")
    parser.add_argument("--latency-rate", type=float, default=1_000.0, help="part 3: events per second (1000)")
    parser.add_argument(
        "--window", type=int, default=None, help="part 2: frames in flight at most (default 4 per user)"
    )
    parser.add_argument(
        "--sockets-per-process", type=int, default=2_500, help="part 1: sockets per client process (2500)"
    )
    parser.add_argument("--client-processes", type=int, default=2, help="parts 2 and 3: client processes (default 2)")
    parser.add_argument(
        "--connect-concurrency", type=int, default=64, help="handshakes in flight per client process (64)"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="part 1: seconds between the last hello and RSS")
    parser.add_argument("--part", choices=PARTS, action="append", help="run only this part (repeatable)")
    parser.add_argument("--target", choices=TARGETS, action="append", help="run only this server (repeatable)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REALTIME_REDIS_URL", REDIS_URL))
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the servers' and clients' logs here")
    parser.add_argument(
        "--relay-dir",
        type=Path,
        default=RELAY_DIR,
        help="run the relay from this copy of fastapi-realtime/ (e.g. an older commit's, for before/after)",
    )
    # `make bench BENCH_ARGS=...` hands the HTTP benchmarks' options to this script too.
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="part 2: runs per server, alternating, the median reported (default 3; quick 1)",
    )
    for option in ("--connections", "--wrk-threads", "--workers", "--worker-threads", "--tasks"):
        parser.add_argument(option, type=int, help=argparse.SUPPRESS)
    for option in ("--rate",):
        parser.add_argument(option, type=float, help=argparse.SUPPRESS)
    parser.add_argument("--writers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.idle_connections is None:
        args.idle_connections = 2_000 if args.quick else 10_000
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    if args.window is None:
        args.window = 4 * args.users
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    counts = (args.idle_connections, args.users, args.window, args.sockets_per_process, args.client_processes)
    if min(*counts, args.rounds) < 1:
        parser.error("counts must be at least 1")
    if args.duration <= 0 or args.warmup < 0 or args.latency_rate <= 0:
        parser.error("--duration and --latency-rate must be positive, --warmup not negative")
    if args.client_processes > args.users:
        parser.error("--client-processes cannot exceed --users")
    args.parts = [part for part in PARTS if not args.part or part in args.part]
    args.targets = [target for target in TARGETS if not args.target or target in args.target]
    return args


# --- Processes -----------------------------------------------------------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1
_CHILDREN: list[subprocess.Popen[bytes]] = []


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit; returns (soft, hard) now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def _child_setup() -> None:
    """In each child before exec: every socket it may need, and SIGTERM if the bench dies."""
    raise_open_files_limit()
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    command: list[str], *, cwd: Path, log_path: Path, env: dict[str, str] | None = None, pipes: bool = False
) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # Its own session: a Ctrl-C reaches only this script, which then stops the child itself.
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else log,
            stderr=log,
            start_new_session=True,
            preexec_fn=_child_setup,  # no threads in this process
        )
    _CHILDREN.append(process)
    return process


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 20.0) -> None:
    if process is None:
        return
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    if process in _CHILDREN:
        _CHILDREN.remove(process)


def stop_all_children() -> None:
    for process in reversed(list(_CHILDREN)):
        stop(process, timeout=10)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class LineChannel:
    """JSON lines to and from a child's stdin/stdout, with timeouts."""

    def __init__(self, process: subprocess.Popen[bytes], name: str, log_path: Path) -> None:
        self.process = process
        self.name = name
        self.log_path = log_path
        self._buffer = b""

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        self.process.stdin.flush()

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{log_tail(self.log_path)}")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"{self.name} exited ({self.process.poll()}):\n{log_tail(self.log_path)}")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def ask(self, command: str, timeout: float) -> dict[str, Any]:
        self.send(command)
        return self.read(timeout)


# --- /proc ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds a process has used; 0 for no process or one that is gone."""
    return (process_cpu_seconds(pid) or 0.0) if pid is not None else 0.0


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


# --- Redis ---------------------------------------------------------------------------------------


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5)


def redis_ready(url: str) -> dict[str, Any]:
    import redis

    client = redis_client(url)
    try:
        client.flushdb()
        info = client.info("server")
        clients = client.info("clients")
        maxclients = int(client.config_get("maxclients").get("maxclients", 0))
    except redis.RedisError as error:
        sys.exit(f"!! Redis is not reachable at {url} (`make services` starts it): {error}")
    finally:
        client.close()
    step(f"Redis {info.get('redis_version')} at {url} flushed (maxclients {maxclients})")
    return {
        "version": info.get("redis_version"),
        "pid": int(info["process_id"]) if Path(f"/proc/{info['process_id']}").exists() else None,
        "maxclients": maxclients,
        "connected_clients_before": clients.get("connected_clients"),
    }


def wait_subscribed(target: "RedisTarget", first_user: int, users: int, timeout: float = 30.0) -> float:
    """Until Redis counts a subscriber on every user's shard channel (on a Cluster, asking the
    node that owns each channel's slot); the seconds it took."""
    import redis
    from redis.cluster import RedisCluster

    client = (
        RedisCluster.from_url(target.url, decode_responses=True, socket_timeout=10)
        if target.cluster
        else redis_client(target.url)
    )
    started = time.monotonic()
    try:
        channels = [f"user:{{{user}}}" for user in range(first_user, first_user + users)]
        while True:
            if target.cluster:
                missing = 0
                for channel in channels:
                    node = client.get_node_from_key(channel)
                    [(_, count)] = client.execute_command("PUBSUB SHARDNUMSUB", channel, target_nodes=node)
                    missing += not count
            else:
                missing = 0
                for start in range(0, len(channels), 1_000):
                    counts = client.pubsub_shardnumsub(*channels[start : start + 1_000])
                    missing += sum(1 for _, count in counts if not count)
            if not missing:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{missing} of {users} user channels still have no subscriber after {timeout:.0f} s")
            time.sleep(0.2)
    except redis.RedisError as error:
        raise RuntimeError(f"counting the subscribers failed: {error}") from error
    finally:
        client.close()


@dataclass
class RedisTarget:
    """The Redis a scenario runs on: the machine's (the default), a private single node, or a
    Redis Cluster (`cluster`: the URL is a seed node); `pids` for its CPU use."""

    name: str
    url: str
    cluster: bool = False
    pids: list[int] = field(default_factory=list)


# --- Servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def ws_url(self) -> str:
        path = "/ws/notifications" if self.kind == "relay" else "/"
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def auth(self) -> str:
        return "ticket" if self.kind == "relay" else "user"

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the {self.kind} exited with {self.process.returncode}:\n{log_tail(self.log_path)}")

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        finally:
            connection.close()

    def relay_metrics(self) -> dict[str, float]:
        if self.kind != "relay":
            return {}
        with contextlib.suppress(OSError):
            status, text = self.get("/ws/metrics")
            if status == 200:
                samples = {}
                for line in text.splitlines():
                    if line and not line.startswith("#"):
                        name, _, value = line.rpartition(" ")
                        samples[name] = float(value)
                return samples
        return {}

    def relay_connections(self) -> int | None:
        if self.kind != "relay":
            return None
        with contextlib.suppress(OSError, ValueError):
            _, text = self.get("/ws/health")
            return int(json.loads(text)["connections"])
        return None


def relay_environment(target: RedisTarget) -> dict[str, str]:
    """The relay's defaults, as `make run` starts it, on the bench's Redis database (or Cluster)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WS_", "REALTIME_", "REDIS_"))}
    env.pop("JWT_PUBLIC_KEY", None)
    env.update({"REDIS_CLUSTER_URL": target.url} if target.cluster else {"REDIS_URL": target.url})
    env.update(
        ENV="development",
        DJANGO_ENV="development",
        JWT_PUBLIC_KEY_FILE=str(REPO_DIR / "var" / "keys" / "jwt_public.pem"),
        WS_DRAIN_TIMEOUT="2",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_server(run: "Run", kind: str, label: str, target: RedisTarget) -> Server:
    port = free_port()
    log_path = run.log_dir / f"{kind}-{label}.log"
    if kind == "relay":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "realtime_relay.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws-per-message-deflate",
            "false",
            "--ws-ping-interval",
            "20",
            "--ws-ping-timeout",
            "20",
            "--ws-max-size",
            "65536",
            "--timeout-graceful-shutdown",
            "10",
        ]
        process = spawn(command, cwd=run.args.relay_dir, log_path=log_path, env=relay_environment(target))
        step(f"starting the relay (uvicorn realtime_relay.main:app, one process) on 127.0.0.1:{port} ({target.name})")
    else:
        command = [sys.executable, "-m", "bench.minimal_relay", "--port", str(port), "--redis-url", target.url]
        command += ["--history"] if KEEPS_HISTORY[kind] else []
        process = spawn(command, cwd=REPO_DIR, log_path=log_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        step(f"starting the {kind} relay (bench.minimal_relay{' --history' * KEEPS_HISTORY[kind]}) on port {port}")
    server = Server(kind=kind, process=process, port=port, log_path=log_path)
    try:
        wait_server(server)
    except BaseException:
        stop(process)
        raise
    return server


def wait_server(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if server.kind == "relay":
                status, _ = server.get("/ws/health", timeout=2)
                if status == 200:
                    return
            else:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the {server.kind} did not come up within {timeout:.0f} s:\n{log_tail(server.log_path)}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        step(f"stopping the {server.kind}")
    stop(server.process)


# --- Load ----------------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    log_dir: Path
    redis: dict[str, Any]
    target: RedisTarget
    next_user: int = field(default_factory=lambda: USER_ID_BASE + random.randrange(1_000_000) * 1_000_000)

    def users(self, count: int) -> int:
        """The first of `count` user ids no earlier scenario of this run used."""
        first = self.next_user
        self.next_user += count + 1_000
        return first


@dataclass
class Clients:
    counters: Counters
    channels: list[LineChannel]
    sizes: list[int]
    first_user: int

    @property
    def slots(self) -> list[int]:
        return list(range(len(self.channels)))

    def total(self, counter: int) -> int:
        return self.counters.total(self.slots, counter)

    def pids(self) -> list[int]:
        return [channel.process.pid for channel in self.channels]

    def reports(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        return [channel.ask("report", timeout) for channel in self.channels]

    def quit(self, timeout: float = 60.0) -> None:
        for channel in self.channels:
            with contextlib.suppress(OSError):
                channel.send("quit")
        for channel in self.channels:
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                channel.read(timeout)
            stop(channel.process, timeout=10)

    def stop(self) -> None:
        for channel in self.channels:
            stop(channel.process, timeout=5)
        with contextlib.suppress(Exception):
            self.counters.close()


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def start_clients(
    run: Run, server: Server, label: str, first_user: int, sizes: list[int], *, latency: bool = False
) -> Clients:
    """Client processes (one slot each in a fresh counter file; the publisher gets the next one)
    opening sizes[k] sockets each for consecutive users, from source address 127.0.0.(2 + k)."""
    counters_path = run.log_dir / f"counters-{label}"
    counters = Counters.create(counters_path, len(sizes) + 1)
    channels = []
    first = first_user
    try:
        for slot, size in enumerate(sizes):
            command = [
                sys.executable,
                "-m",
                "bench.realtime_load",
                "clients",
                "--url",
                server.ws_url,
                "--auth",
                server.auth,
                "--first-user",
                str(first),
                "--users",
                str(size),
                "--counters",
                str(counters_path),
                "--slot",
                str(slot),
                "--concurrency",
                str(run.args.connect_concurrency),
                "--local-addr",
                f"127.0.0.{2 + slot % 250}",
                *(["--latency"] if latency else []),
            ]
            log_path = run.log_dir / f"clients-{label}-{slot}.log"
            process = spawn(command, cwd=REPO_DIR, log_path=log_path, pipes=True)
            channels.append(LineChannel(process, f"client process {slot} ({label})", log_path))
            first += size
    except BaseException:
        Clients(counters, channels, sizes, first_user).stop()
        raise
    return Clients(counters, channels, sizes, first_user)


def wait_clients(server: Server, clients: Clients, timeout: float) -> dict[str, Any]:
    """Until every client process has opened its sockets (or given up on some); progress lines
    every few seconds. Returns the totals and the seconds it took."""
    total = sum(clients.sizes)
    started = time.monotonic()
    last_print = started
    while clients.total(READY) < len(clients.channels):
        time.sleep(0.25)
        server.check_alive()
        for channel in clients.channels:
            if channel.process.poll() is not None:
                raise RuntimeError(f"{channel.name} exited:\n{log_tail(channel.log_path)}")
        now = time.monotonic()
        if now - started > timeout:
            raise RuntimeError(
                f"sockets still opening after {timeout:.0f} s: {clients.total(CONNECTED):,} of {total:,} got hello"
            )
        if now - last_print >= 3:
            last_print = now
            print(
                f"    {clients.total(CONNECTED):,}/{total:,} sockets got hello, {clients.total(FAILED):,} failed "
                f"({now - started:.0f} s)",
                flush=True,
            )
    seconds = time.monotonic() - started
    readies = [channel.read(30) for channel in clients.channels]
    errors: dict[str, int] = {}
    retried: dict[str, int] = {}
    for ready in readies:
        for name, count in ready["errors"].items():
            errors[name] = errors.get(name, 0) + count
        for name, count in ready["retried"].items():
            retried[name] = retried.get(name, 0) + count
    connected, failed = clients.total(CONNECTED), clients.total(FAILED)
    print(
        f"    {connected:,}/{total:,} sockets got hello in {seconds:.1f} s ({connected / seconds:,.0f}/s)"
        + (f", {failed:,} failed: {errors}" if failed else "")
        + (f"; refused and retried: {retried}" if retried else ""),
        flush=True,
    )
    return {
        "connected": connected,
        "failed": failed,
        "errors": errors,
        "retried": retried,
        "seconds": round(seconds, 2),
    }


def start_publisher(
    run: Run, clients: Clients, label: str, target: RedisTarget, *, seconds: float, paced: bool, history: bool
) -> LineChannel:
    slot = len(clients.channels)
    command = [
        sys.executable,
        "-m",
        "bench.realtime_load",
        "publish",
        "--redis-url",
        target.url,
        *(["--cluster"] if target.cluster else []),
        *(["--history"] if history else []),
        "--first-user",
        str(clients.first_user),
        "--users",
        str(sum(clients.sizes)),
        "--counters",
        str(run.log_dir / f"counters-{label}"),
        "--slot",
        str(slot),
        "--received-slots",
        ",".join(map(str, clients.slots)),
        "--seconds",
        str(seconds),
    ]
    if paced:
        command += ["--rate", str(run.args.latency_rate), "--warmup", str(run.args.warmup)]
    else:
        command += ["--window", str(run.args.window)]
    log_path = run.log_dir / f"publisher-{label}.log"
    process = spawn(command, cwd=REPO_DIR, log_path=log_path, pipes=True)
    return LineChannel(process, f"publisher ({label})", log_path)


@dataclass
class Snapshot:
    at: float
    received: int
    published: int
    cpu: dict[str, float]


def snapshot(server: Server, clients: Clients, publisher: LineChannel, target: RedisTarget) -> Snapshot:
    slot = len(clients.channels)
    return Snapshot(
        at=time.monotonic(),
        received=clients.total(RECEIVED),
        published=clients.counters.get(slot, PUBLISHED),
        cpu={
            "server": cpu_seconds(server.pid),
            "clients": sum(cpu_seconds(pid) for pid in clients.pids()),
            "publisher": cpu_seconds(publisher.process.pid),
            "redis": sum(cpu_seconds(pid) for pid in target.pids),
        },
    )


def wait_publisher_started(clients: Clients, publisher: LineChannel, timeout: float = 30.0) -> float:
    """CLOCK_MONOTONIC seconds of the publisher's first PUBLISH (its schedule's start when paced)."""
    slot = len(clients.channels)
    deadline = time.monotonic() + timeout
    while not (started := clients.counters.get(slot, STARTED)):
        if publisher.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the publisher did not start:\n{log_tail(publisher.log_path)}")
        time.sleep(0.01)
    return started / 1e9


def sleep_until(instant: float) -> None:
    """Sleeps until time.monotonic() reaches `instant`."""
    delay = instant - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def window_figures(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    seconds = after.at - before.at
    delivered = after.received - before.received
    cpu = {name: after.cpu[name] - before.cpu[name] for name in after.cpu}
    return {
        "seconds": round(seconds, 3),
        "delivered": delivered,
        "published": after.published - before.published,
        "messages_per_s": round(delivered / seconds, 1) if seconds else 0.0,
        "published_per_s": round((after.published - before.published) / seconds, 1) if seconds else 0.0,
        # CPU use of each party over the window, in % of one core (this machine has os.cpu_count()).
        "cpu_pct": {name: round(100 * value / seconds, 1) for name, value in cpu.items()},
        "server_cpu_us_per_message": round(1e6 * cpu["server"] / delivered, 2) if delivered else None,
    }


def drain(clients: Clients, publisher_slot: int, timeout: float = 10.0) -> None:
    """Waits until every published frame was received, or nothing moved for 2 s."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        received = clients.total(RECEIVED)
        if received >= clients.counters.get(publisher_slot, PUBLISHED):
            return
        if received != last:
            last, last_change = received, time.monotonic()
        elif time.monotonic() - last_change > 2:
            return
        time.sleep(0.1)


def socket_closes(reports: list[dict[str, Any]]) -> dict[str, int]:
    closes: dict[str, int] = {}
    for report in reports:
        for code, count in report["closes"].items():
            closes[code] = closes.get(code, 0) + count
    return closes


def relay_drops(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    drops = {}
    for name, value in after.items():
        if name.startswith("realtime_drops_total"):
            reason = name.partition('reason="')[2].rstrip('"}')
            if value - before.get(name, 0.0):
                drops[reason] = int(value - before.get(name, 0.0))
    return drops


# --- Part 1: idle connections --------------------------------------------------------------------


def run_idle(run: Run, kind: str) -> dict[str, Any]:
    args = run.args
    count = args.idle_connections
    processes = math.ceil(count / args.sockets_per_process)
    server = start_server(run, kind, "idle", run.target)
    clients: Clients | None = None
    try:
        # A few sockets opened and closed first: what the first ones load lazily (modules, the
        # key, Redis connections) is not a per-socket cost.
        warm = min(100, count)
        warm_clients = start_clients(run, server, f"idle-warmup-{kind}", run.users(warm), [warm])
        try:
            wait_clients(server, warm_clients, timeout=60)
            warm_clients.quit()
        finally:
            warm_clients.stop()
        time.sleep(1.0)
        before = memory_kib(server.pid)
        cpu_before = cpu_seconds(server.pid)
        step(
            f"{kind}: opening {count:,} idle sockets from {processes} client process"
            f"{'es' if processes > 1 else ''} (~{math.ceil(count / processes):,} each, "
            f"{args.connect_concurrency} handshakes in flight per process)"
        )
        clients = start_clients(run, server, f"idle-{kind}", run.users(count), split(count, processes))
        opened = wait_clients(server, clients, timeout=max(120.0, count / 40))
        setup_cpu = cpu_seconds(server.pid) - cpu_before
        step(f"{kind}: holding them {args.settle:g} s, then reading its RSS")
        time.sleep(args.settle)
        server.check_alive()
        after = memory_kib(server.pid)
        reports = clients.reports()
        held = sum(report["open"] for report in reports)
        server_count = server.relay_connections()
        growth = after["VmRSS"] - before["VmRSS"]
        per_connection = growth / held if held else None
        closes = socket_closes(reports)
        print(
            f"    {held:,} sockets held"
            + (f" (the relay counts {server_count:,})" if server_count is not None else "")
            + f"; RSS {before['VmRSS'] / 1024:,.1f} -> {after['VmRSS'] / 1024:,.1f} MiB"
            + (f" = {per_connection:.1f} KiB per socket" if per_connection is not None else "")
            + (f"; closed meanwhile: {closes}" if closes else ""),
            flush=True,
        )
        step(f"{kind}: closing the sockets")
        clients.quit()
    finally:
        if clients is not None:
            clients.stop()
        stop_server(server)
    return {
        "requested": count,
        "client_processes": processes,
        "connected": opened["connected"],
        "failed": opened["failed"],
        "errors": opened["errors"],
        "refused_then_retried": opened["retried"],
        "held": held,
        "server_count": server_count,
        "closed_while_held": closes,
        "open_seconds": opened["seconds"],
        "opened_per_s": round(opened["connected"] / opened["seconds"], 1) if opened["seconds"] else None,
        "server_cpu_ms_per_open": round(1e3 * setup_cpu / opened["connected"], 3) if opened["connected"] else None,
        "rss_before_kib": before["VmRSS"],
        "rss_after_kib": after["VmRSS"],
        "rss_peak_kib": after.get("VmHWM"),
        "kib_per_connection": round(per_connection, 2) if per_connection is not None else None,
    }


# --- Parts 2 and 3: delivery ---------------------------------------------------------------------


def run_delivery(run: Run, kind: str, part: str, target: RedisTarget | None = None) -> dict[str, Any]:
    """Part 2 (`throughput`: as fast as delivered) or 3 (`latency`: paced, timed frames), on the
    bench's Redis or on `target`."""
    args = run.args
    target = target or run.target
    paced = part == "latency"
    label = f"{part}-{kind}-{target.name}-{run.next_user}"
    server = start_server(run, kind, part, target)
    clients: Clients | None = None
    publisher: LineChannel | None = None
    try:
        first = run.users(args.users)
        sizes = split(args.users, args.client_processes)
        step(f"{kind}: {args.users:,} users, one socket each, from {len(sizes)} client processes")
        clients = start_clients(run, server, label, first, sizes, latency=paced)
        opened = wait_clients(server, clients, timeout=120)
        if opened["failed"]:
            raise RuntimeError(f"{opened['failed']} of {args.users} sockets did not open: {opened['errors']}")
        wait_subscribed(target, first, args.users)
        metrics_before = server.relay_metrics()
        if paced:
            step(
                f"{kind}: publishing {args.latency_rate:,.0f} events/s round-robin, {args.warmup:g} s warm-up + "
                f"{args.duration:g} s measured; clients time each frame"
            )
        else:
            step(
                f"{kind}: publishing as fast as delivered (at most {args.window:,} frames in flight), "
                f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
            )
        publisher = start_publisher(
            run,
            clients,
            label,
            target,
            seconds=args.duration + (0 if paced else args.warmup + 0.5),
            paced=paced,
            history=KEEPS_HISTORY[kind],
        )
        started = wait_publisher_started(clients, publisher)
        # The measured window: from `warmup` after the first PUBLISH, for `duration` (the paced
        # publisher stops at its end, so the last snapshot comes just before).
        sleep_until(started + args.warmup)
        server.check_alive()
        before = snapshot(server, clients, publisher, target)
        sleep_until(started + args.warmup + args.duration - (0.02 if paced else 0.0))
        after = snapshot(server, clients, publisher, target)
        published = publisher.read(timeout=args.warmup + args.duration + 60)
        stop(publisher.process)
        drain(clients, len(clients.channels))
        server.check_alive()
        reports = clients.reports()
        metrics_after = server.relay_metrics()
        received = clients.total(RECEIVED)
        result = delivery_result(
            args,
            kind,
            paced=paced,
            published=published,
            received=received,
            reports=reports,
            drops=relay_drops(metrics_before, metrics_after),
            figures=window_figures(before, after),
        )
        result["refused_then_retried"] = opened["retried"]
        clients.quit()
    finally:
        if publisher is not None:
            stop(publisher.process)
        if clients is not None:
            clients.stop()
        stop_server(server)
    return result


def delivery_result(
    args: argparse.Namespace,
    kind: str,
    *,
    paced: bool,
    published: dict[str, Any],
    received: int,
    reports: list[dict[str, Any]],
    drops: dict[str, int],
    figures: dict[str, Any],
) -> dict[str, Any]:
    """The figures of one delivery run, with their progress line."""
    closes = socket_closes(reports)
    result: dict[str, Any] = {
        "users": args.users,
        "client_processes": len(reports),
        "published": published["published"],
        "received": received,
        "lost": max(0, published["published"] - received),
        "unrouted": published["unrouted"],
        "sockets_closed": closes,
        "relay_drops": drops,
        "frame_bytes": published["frame_bytes"],
        "window": figures,
    }
    cpu = figures["cpu_pct"]
    others = f"clients {cpu['clients']:.0f} %, publisher {cpu['publisher']:.0f} %, Redis {cpu['redis']:.0f} %"
    if not paced:
        result["in_flight_window"] = args.window
        print(
            f"    {figures['messages_per_s']:,.0f} messages/s delivered over {figures['seconds']:.1f} s; "
            f"{kind} CPU {cpu['server']:.0f} % of a core ({figures['server_cpu_us_per_message']} us/message), "
            f"{others}; lost {result['lost']:,}" + (f", sockets closed {closes}" if closes else ""),
            flush=True,
        )
        return result

    start_ns = published["window_start_ns"]
    latencies = [
        lat / 1e6
        for report in reports
        for sent, lat in zip(report["sent_ns"], report["latency_ns"], strict=True)
        if sent >= start_ns
    ]
    stats = distribution(latencies)
    measured_seconds = args.duration
    result.update(
        {
            "target_rate": args.latency_rate,
            "achieved_rate": round(published["measured"] / measured_seconds, 1) if measured_seconds else None,
            "publisher_behind_over_1ms": published["behind_over_1ms"],
            "measured_events": published["measured"],
            "timed_frames": len(latencies),
            "missing": max(0, published["measured"] - len(latencies)),
            "latency": stats,
        }
    )
    if stats is None:
        print("    no timed frame arrived", flush=True)
    else:
        print(
            f"    publish -> socket: p50 {stats['p50_ms']:.2f} ms, p95 {stats['p95_ms']:.2f} ms, "
            f"p99 {stats['p99_ms']:.2f} ms, max {stats['max_ms']:.2f} ms over {len(latencies):,} frames "
            f"(missing {result['missing']}); {kind} CPU {cpu['server']:.0f} % of a core, {others}",
            flush=True,
        )
    return result


# Per part: the figures whose median over the rounds is reported (the first one also picks the
# round kept as the part's result), each read from one round's result.
ROUND_FIGURES: dict[str, dict[str, Any]] = {
    "idle": {
        "kib_per_connection": lambda r: r["kib_per_connection"],
        "server_cpu_ms_per_open": lambda r: r["server_cpu_ms_per_open"],
    },
    "throughput": {
        "messages_per_s": lambda r: r["window"]["messages_per_s"],
        "server_cpu_us_per_message": lambda r: r["window"]["server_cpu_us_per_message"],
    },
    "latency": {
        f"{name}_ms": (lambda r, name=name: (r["latency"] or {}).get(f"{name}_ms"))
        for name in ("p99", "p50", "p95", "max")
    },
}


def run_rounds(run: Run, part: str) -> dict[str, Any]:
    """`--rounds` runs per server, the order rotating from round to round (a drift on the
    machine hits every server); each figure is the median over the rounds (`median`), and each
    server's round with the median of the part's first figure is kept as its result."""
    targets = list(run.args.targets)
    rounds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in targets}
    for number in range(1, run.args.rounds + 1):
        shift = (number - 1) % len(targets)
        for kind in targets[shift:] + targets[:shift]:
            step(f"round {number}/{run.args.rounds}: {kind}")
            rounds[kind].append(run_idle(run, kind) if part == "idle" else run_delivery(run, kind, part))
    return {kind: median_round(kind, runs, part) for kind, runs in rounds.items()}


def median_round(name: str, runs: list[dict[str, Any]], part: str = "throughput") -> dict[str, Any]:
    """The round with the median of the part's first figure, with every round's figures and
    each figure's median over the rounds."""
    figures = ROUND_FIGURES[part]
    first = next(iter(figures.values()))
    ordered = sorted(runs, key=lambda result: first(result) if first(result) is not None else math.inf)
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["rounds_figures"] = {figure: [pick(result) for result in runs] for figure, pick in figures.items()}
    median["median"] = {
        figure: statistics.median(known) if (known := [value for value in values if value is not None]) else None
        for figure, values in median["rounds_figures"].items()
    }
    if part == "throughput":
        median["rounds_messages_per_s"] = median["rounds_figures"]["messages_per_s"]
        median["rounds_server_cpu_us_per_message"] = median["rounds_figures"]["server_cpu_us_per_message"]
    median["rounds"] = runs
    summary = "; ".join(
        f"{figure} {', '.join('-' if value is None else f'{value:,.2f}' for value in values)}"
        for figure, values in median["rounds_figures"].items()
    )
    step(f"{name}: rounds {summary}")
    return median


# --- Part 4: the relay on a Redis Cluster vs on a single node ------------------------------------


@contextlib.contextmanager
def comparison_targets() -> Iterator[dict[str, RedisTarget]]:
    """A private single redis-server and a Redis Cluster of three masters (tests/engines), on free
    loopback ports, with the same options (no persistence); stopped at the end."""
    from tests.engines.processes import find_binary, start_process, wait_for
    from tests.engines.redis_cluster import running_redis_cluster

    with tempfile.TemporaryDirectory(prefix="taskflow-bench-redis-") as folder:
        work_dir = Path(folder)
        port = free_port()
        command = [find_binary("redis-server", "redis-server"), "--bind", "127.0.0.1", "--port", str(port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(work_dir), "--daemonize", "no"]
        single = start_process(f"redis-single-{port}", command, work_dir)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for("the single Redis node", lambda: _answers(url), timeout=20, processes=[single])
            with running_redis_cluster(work_dir / "cluster") as cluster:
                assert single.popen is not None
                yield {
                    "single": RedisTarget("single node", url, pids=[single.popen.pid]),
                    "cluster": RedisTarget(
                        f"Redis Cluster, {len(cluster.ports)} masters",
                        cluster.url,
                        cluster=True,
                        pids=[process.popen.pid for process in cluster.processes if process.popen is not None],
                    ),
                }
        finally:
            single.stop()


def _answers(url: str) -> bool:
    with contextlib.closing(redis_client(url)) as client:
        return bool(client.ping())


def run_cluster_comparison(run: Run) -> dict[str, Any]:
    """The relay (one process) delivering to `--users` users on a private single node and on a
    three-master Cluster: throughput in `--rounds` alternating rounds (median), then latency."""
    args = run.args
    results: dict[str, Any] = {"throughput": {}, "latency": {}}
    with comparison_targets() as targets:
        step("Redis: " + "; ".join(f"{name}: {target.name} at {target.url}" for name, target in targets.items()))
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        for number in range(1, args.rounds + 1):
            order = list(targets) if number % 2 else list(reversed(targets))
            for name in order:
                step(f"round {number}/{args.rounds}: the relay on a {targets[name].name}")
                rounds[name].append(run_delivery(run, "relay", "throughput", targets[name]))
        for name, runs in rounds.items():
            results["throughput"][name] = median_round(f"relay on a {targets[name].name}", runs, "throughput")
        for name, target in targets.items():
            step(f"latency: the relay on a {target.name}")
            results["latency"][name] = run_delivery(run, "relay", "latency", target)
    return results


def compare_cluster(results: dict[str, Any]) -> dict[str, Any]:
    """Cluster vs single node: messages/s (goal: cluster >= GOAL_CLUSTER_RATIO x single) and
    publish -> socket latency."""
    table: dict[str, Any] = {}
    throughput = results.get("throughput", {})
    if {"single", "cluster"} <= set(throughput):
        single, cluster = (throughput[name]["window"]["messages_per_s"] for name in ("single", "cluster"))
        share = ratio(cluster, single)
        table["messages_per_s"] = {
            "single": single,
            "cluster": cluster,
            "cluster/single": share,
            "goal": f"cluster >= {GOAL_CLUSTER_RATIO:g}x single",
            "meets_goal": None if share is None else share >= GOAL_CLUSTER_RATIO,
        }
        table["server_cpu_us_per_message"] = {
            name: throughput[name]["window"]["server_cpu_us_per_message"] for name in ("single", "cluster")
        }
    latency = results.get("latency", {})
    if {"single", "cluster"} <= set(latency):
        for name in ("p50", "p99"):
            values = {target: (latency[target]["latency"] or {}).get(f"{name}_ms") for target in ("single", "cluster")}
            table[f"latency_{name}_ms"] = {
                **values,
                "cluster/single": ratio(values["cluster"], values["single"]),
                "goal": f"<= {GOAL_P99_MS:g} ms" if name == "p99" else None,
                "meets_goal": (values["cluster"] or 0) <= GOAL_P99_MS if name == "p99" and values["cluster"] else None,
            }
    return table


def print_cluster_report(args: argparse.Namespace, table: dict[str, Any], results: dict[str, Any]) -> None:
    if not table:
        return
    print()
    print(f"The relay on a Redis Cluster (3 masters) vs a single Redis node: one relay process, {args.users:,} users")
    header = f"{'metric':<42}  {'single':>10}  {'cluster':>10}  {'clu/single':>10}  {'goal':>22}  {'':>7}"
    print(header)
    print("-" * len(header))
    labels = {
        "messages_per_s": (f"delivered messages/s, {args.users:,} users", "{:,.0f}"),
        "latency_p50_ms": (f"publish -> socket p50, ms ({args.latency_rate:,.0f}/s)", "{:,.2f}"),
        "latency_p99_ms": ("publish -> socket p99, ms", "{:,.2f}"),
    }
    for key, (label, spec) in labels.items():
        row = table.get(key)
        if row is None:
            continue
        cells = ["-" if row[name] is None else spec.format(row[name]) for name in ("single", "cluster")]
        share = "-" if row["cluster/single"] is None else f"{row['cluster/single']:.2f}"
        verdict = "" if row["meets_goal"] is None else ("met" if row["meets_goal"] else "NOT met")
        print(f"{label:<42}  {cells[0]:>10}  {cells[1]:>10}  {share:>10}  {row['goal'] or '':>22}  {verdict:>7}")
    cpu = table.get("server_cpu_us_per_message")
    if cpu:
        print(f"{'  relay CPU per message, us':<42}  {cpu['single'] or 0:>10.1f}  {cpu['cluster'] or 0:>10.1f}")
    for part in ("throughput", "latency"):
        for name, result in results.get(part, {}).items():
            window = result["window"]
            cpu_pct = ", ".join(f"{who} {value:.0f} %" for who, value in window["cpu_pct"].items())
            rates = ""
            if "rounds_messages_per_s" in result:
                rates = "; rounds " + ", ".join(f"{rate:,.0f}" for rate in result["rounds_messages_per_s"])
            print(
                f"{part}, {name}: CPU (% of one core) {cpu_pct}; published {result['published']:,}, "
                f"received {result['received']:,}, lost {result['lost']:,}{rates}"
            )
    print()


# --- Report --------------------------------------------------------------------------------------


def ratio(relay: float | None, minimal: float | None) -> float | None:
    if relay is None or minimal is None or not minimal:
        return None
    return round(relay / minimal, 3)


def median_figure(result: dict[str, Any], part: str, figure: str) -> float | None:
    """A figure's median over the rounds (or its value in the one round there was)."""
    if figure in result.get("median", {}):
        value: float | None = result["median"][figure]
        return value
    return ROUND_FIGURES[part][figure](result)


def compare(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per figure: each target's median, relay / minimal and relay / minimal-history, and the
    relay against the earlier absolute goals; then `issue_17`, the goals set as ratios."""
    table: dict[str, Any] = {}

    def row(key: str, part: str, figure: str, goal: str | None, met: Any = None) -> None:
        values = {target: median_figure(result, part, figure) for target, result in results.get(part, {}).items()}
        if not values:
            return
        table[key] = {
            **values,
            "relay/minimal": ratio(values.get("relay"), values.get("minimal")),
            "relay/minimal-history": ratio(values.get("relay"), values.get("minimal-history")),
            "goal": goal,
            "relay_meets_goal": met(values["relay"]) if met is not None and values.get("relay") is not None else None,
        }

    if "idle" in results:
        table["idle_connections_held"] = {
            **{target: result["held"] for target, result in results["idle"].items()},
            "goal": f">= {GOAL_IDLE_CONNECTIONS:,}",
            "relay_meets_goal": None,
        }
        relay_idle = results["idle"].get("relay")
        if relay_idle is not None and relay_idle["requested"] >= GOAL_IDLE_CONNECTIONS:
            table["idle_connections_held"]["relay_meets_goal"] = relay_idle["held"] >= GOAL_IDLE_CONNECTIONS
    row(
        "kib_per_idle_connection",
        "idle",
        "kib_per_connection",
        f"<= {GOAL_KIB_PER_CONNECTION:g} KiB",
        lambda v: v <= GOAL_KIB_PER_CONNECTION,
    )
    row("server_cpu_ms_per_open", "idle", "server_cpu_ms_per_open", None)
    row(
        "messages_per_s",
        "throughput",
        "messages_per_s",
        f">= {GOAL_MESSAGES_PER_S:,.0f}/s",
        lambda v: v >= GOAL_MESSAGES_PER_S,
    )
    row("server_cpu_us_per_message", "throughput", "server_cpu_us_per_message", None)
    for name in ("p50", "p95", "p99", "max"):
        row(
            f"latency_{name}_ms",
            "latency",
            f"{name}_ms",
            f"<= {GOAL_P99_MS:g} ms" if name == "p99" else None,
            (lambda v: v <= GOAL_P99_MS) if name == "p99" else None,
        )
    table["issue_17"] = issue_17_goals(table)
    return table


def issue_17_goals(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 17's relay goals, each the relay's figure against its ceiling in this run."""
    goals = []

    def goal(label: str, key: str, ceiling_of: str, *, limit: float, kind: str) -> None:
        row = table.get(key)
        if row is None or row.get("relay") is None or row.get(ceiling_of) is None:
            return
        relay, ceiling = row["relay"], row[ceiling_of]
        if kind == "extra":
            figure: float | None = round(relay - ceiling, 3)
            met = figure is not None and figure <= limit
            wanted = f"<= {ceiling_of} + {limit:g} ms"
        else:
            figure = ratio(relay, ceiling)
            met = figure is not None and (figure >= limit if kind == "at_least" else figure <= limit)
            wanted = f"{'>=' if kind == 'at_least' else '<='} {limit:g}x {ceiling_of}"
        goals.append(
            {
                "goal": label,
                "relay": relay,
                "ceiling": ceiling,
                "ceiling_server": ceiling_of,
                "figure": figure,
                "wanted": wanted,
                "met": met,
            }
        )

    goal("messages/s to users", "messages_per_s", "minimal", limit=GOAL_MESSAGES_RATIO, kind="at_least")
    goal("messages/s to users", "messages_per_s", "minimal-history", limit=GOAL_MESSAGES_RATIO, kind="at_least")
    goal("RSS per idle socket, KiB", "kib_per_idle_connection", "minimal", limit=GOAL_RSS_RATIO, kind="at_most")
    goal("publish -> socket p99, ms", "latency_p99_ms", "minimal", limit=GOAL_P99_EXTRA_MS, kind="extra")
    goal(
        "handshake CPU per socket, ms", "server_cpu_ms_per_open", "minimal", limit=GOAL_HANDSHAKE_RATIO, kind="at_most"
    )
    return goals


LABELS = {
    "idle_connections_held": ("idle sockets held by one process", "{:,.0f}"),
    "kib_per_idle_connection": ("RSS per idle socket, KiB", "{:,.1f}"),
    "server_cpu_ms_per_open": ("  handshake: server CPU per socket, ms", "{:,.3f}"),
    "messages_per_s": ("delivered messages/s, {users:,} users", "{:,.0f}"),
    "server_cpu_us_per_message": ("  server CPU per message, us", "{:,.1f}"),
    "latency_p50_ms": ("publish -> socket p50, ms ({rate:,.0f}/s)", "{:,.2f}"),
    "latency_p95_ms": ("publish -> socket p95, ms", "{:,.2f}"),
    "latency_p99_ms": ("publish -> socket p99, ms", "{:,.2f}"),
    "latency_max_ms": ("publish -> socket max, ms", "{:,.2f}"),
}


def print_report(args: argparse.Namespace, table: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print()
    print(
        f"Realtime relay vs minimal relays (the ceilings): one server process each, {os.cpu_count()} cores, "
        f"load generator on the same machine; medians of {args.rounds} round{'s' if args.rounds > 1 else ''} "
        "per server, alternating"
    )
    print(
        "  relay and min+hist are fed as django-core feeds them (DELIVER_LUA: history XADD + SPUBLISH); "
        "minimal gets a bare SPUBLISH"
    )
    header = (
        f"{'metric':<42}  {'relay':>10}  {'minimal':>10}  {'min+hist':>10}  {'relay/min':>9}  {'relay/m+h':>9}  "
        f"{'goal':>14}  {'relay':>7}"
    )
    print(header)
    print("-" * len(header))

    def cell(value: float | None, spec: str) -> str:
        return "-" if value is None else spec.format(value)

    for key, (label, spec) in LABELS.items():
        if key not in table:
            continue
        row = table[key]
        met = row["relay_meets_goal"]
        verdict = "" if met is None else ("met" if met else "NOT met")
        relative = [cell(row.get(name), "{:.2f}") for name in ("relay/minimal", "relay/minimal-history")]
        values = [cell(row.get(target), spec) for target in TARGETS]
        print(
            f"{label.format(users=args.users, rate=args.latency_rate):<42}  {values[0]:>10}  {values[1]:>10}  "
            f"{values[2]:>10}  {relative[0]:>9}  {relative[1]:>9}  {row['goal'] or '':>14}  {verdict:>7}"
        )
    print()
    goals = table.get("issue_17") or []
    if goals:
        print("Issue 17 (relay): each goal against its ceiling in this run")
        header = (
            f"{'goal':<30}  {'relay':>10}  {'ceiling':>10}  {'ceiling is':<16}  {'figure':>8}  {'wanted':<28}  {'':>7}"
        )
        print(header)
        print("-" * len(header))
        for goal in goals:
            figure = "-" if goal["figure"] is None else f"{goal['figure']:.2f}"
            print(
                f"{goal['goal']:<30}  {goal['relay']:>10,.2f}  {goal['ceiling']:>10,.2f}  "
                f"{goal['ceiling_server']:<16}  {figure:>8}  {goal['wanted']:<28}  "
                f"{'met' if goal['met'] else 'NOT met':>7}"
            )
        print()
    for target, result in results.get("idle", {}).items():
        failed = f"{result['failed']:,} failed" + (f" {result['errors']}" if result["failed"] else "")
        if result["refused_then_retried"]:
            failed += f", refused then retried {result['refused_then_retried']}"
        print(
            f"idle, {target}: {result['connected']:,}/{result['requested']:,} got hello in "
            f"{result['open_seconds']:.1f} s "
            f"({result['opened_per_s']:,.0f}/s, {result['server_cpu_ms_per_open']} ms server CPU each), {failed}; "
            f"RSS {result['rss_before_kib'] / 1024:,.1f} -> {result['rss_after_kib'] / 1024:,.1f} MiB, "
            f"peak {result['rss_peak_kib'] / 1024:,.1f} MiB"
        )
    for part in ("throughput", "latency"):
        for target, result in results.get(part, {}).items():
            window = result["window"]
            cpu = ", ".join(f"{name} {value:.0f} %" for name, value in window["cpu_pct"].items())
            extra = ""
            if part == "latency":
                extra = (
                    f"; achieved {result['achieved_rate']:,.0f} events/s, {result['timed_frames']:,} timed frames, "
                    f"{result['missing']} missing"
                )
            if "rounds_messages_per_s" in result:
                rates = ", ".join(f"{rate:,.0f}" for rate in result["rounds_messages_per_s"])
                extra = f"; median of {len(result['rounds'])} rounds ({rates} messages/s)"
            drops = result["relay_drops"] or result["sockets_closed"]
            print(
                f"{part}, {target}: CPU (% of one core) {cpu}; "
                f"published {result['published']:,}, received {result['received']:,}, lost {result['lost']:,}"
                + (f", drops {drops}" if drops else ", no drops")
                + extra
            )
    print()


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("uvicorn", "fastapi", "starlette", "websockets", "redis", "uvloop", "PyJWT"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_json(
    path: Path,
    args: argparse.Namespace,
    run: Run,
    load_before: float,
    loads: dict[str, Any],
    results: dict[str, Any],
    table: dict[str, Any],
    limits: tuple[int, int],
) -> None:
    payload = {
        "benchmark": "realtime",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "idle_connections": args.idle_connections,
            "sockets_per_client_process": args.sockets_per_process,
            "connect_concurrency_per_process": args.connect_concurrency,
            "users": args.users,
            "client_processes": args.client_processes,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "throughput_window": args.window,
            "throughput_rounds": args.rounds,
            "latency_rate": args.latency_rate,
            "redis_url": args.redis_url,
            "quick": args.quick,
            "relay_command": "uvicorn realtime_relay.main:app --ws-per-message-deflate false --ws-ping-interval 20 "
            "--ws-ping-timeout 20 --ws-max-size 65536 (one process, default settings)",
            "minimal_relay": "bench/minimal_relay.py (websockets asyncio server + redis.asyncio pub/sub, uvloop)",
            "minimal_history_relay": "bench/minimal_relay.py --history (its hello reads the user's history)",
            "fed_with_history": [target for target, keeps in KEEPS_HISTORY.items() if keeps],
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load_before, 2),
            "before_each_part": loads,
            "python": platform.python_version(),
            "packages": versions(),
            "redis": {key: value for key, value in run.redis.items() if key != "pid"},
            "open_files_limit": list(limits),
        },
        "goals": {
            "idle_connections": GOAL_IDLE_CONNECTIONS,
            "kib_per_idle_connection": GOAL_KIB_PER_CONNECTION,
            "messages_per_s": GOAL_MESSAGES_PER_S,
            "latency_p99_ms": GOAL_P99_MS,
            "cluster_over_single_messages_per_s": GOAL_CLUSTER_RATIO,
            "issue_17": {
                "messages_per_s_over_minimal": GOAL_MESSAGES_RATIO,
                "rss_per_idle_socket_over_minimal": GOAL_RSS_RATIO,
                "p99_ms_over_minimal_plus": GOAL_P99_EXTRA_MS,
                "handshake_cpu_over_minimal": GOAL_HANDSHAKE_RATIO,
            },
        },
        "summary": table,
        "results": results,
    }
    write_results(path, payload)


# --- Main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(
        lambda: run_all(args),
        cleanup=_stop_children,
        interrupted="interrupted: stopping every process this bench started",
    )


def _stop_children() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
    stop_all_children()
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run_all(args: argparse.Namespace) -> int:
    ensure_jwt_keys()
    limits = raise_open_files_limit()
    needed = args.idle_connections + 200 if "idle" in args.parts else args.users + 200
    step(f"open files limit {limits[0]:,} (soft, raised to the hard limit) for this bench and its children")
    if limits[0] < needed:
        print(f"    !! {needed:,} sockets need more: the relay will refuse the ones over the limit", flush=True)
    load_before = report_machine_load()
    redis = redis_ready(args.redis_url)
    if "idle" in args.parts and redis["maxclients"] and redis["maxclients"] < 1_000:
        print(f"    !! Redis maxclients is {redis['maxclients']}: the relay's connection pool may hit it", flush=True)
    results: dict[str, dict[str, Any]] = {}
    loads: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        if args.log_dir is not None:
            args.log_dir.mkdir(parents=True, exist_ok=True)
            log_dir = args.log_dir
        else:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="taskflow-bench-realtime-")))
        machine_redis = RedisTarget("single node", args.redis_url, pids=[redis["pid"]] if redis["pid"] else [])
        run = Run(args=args, log_dir=log_dir, redis=redis, target=machine_redis)
        titles = {
            "idle": f"part 1: {args.idle_connections:,} idle sockets",
            "throughput": f"part 2: delivered messages/s to {args.users:,} users",
            "latency": f"part 3: publish -> socket latency at {args.latency_rate:,.0f} events/s",
            "cluster": f"part 4: the relay on a Redis Cluster vs a single node, {args.users:,} users",
        }
        for part in args.parts:
            loads[part] = report_part_load(titles[part])
            results[part] = {}
            if part == "cluster":
                results[part] = run_cluster_comparison(run)
                continue
            results[part] = run_rounds(run, part)
        table = compare(results)
        cluster_table = compare_cluster(results.get("cluster", {}))
        if cluster_table:
            table["cluster"] = cluster_table
        if any(part != "cluster" for part in args.parts):
            print_report(args, table, results)
        print_cluster_report(args, cluster_table, results.get("cluster", {}))
        write_json(args.output, args, run, load_before, loads, results, table, limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
