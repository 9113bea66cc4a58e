"""Soak through the gateway (`make soak`, issue 18): `--sockets` (2,000) WebSockets open and
`--rate` (50) writes/s for `--minutes` (10), reporting each stack process's RSS at start and end,
events lost, and the p99 write -> socket latency per minute. Figures are printed beside their
goals and written to bench/results/soak.json, never asserted. Not part of `make bench`.

The stack is the end-to-end suite's (tests/e2e/stack.py) as bench.gateway starts it (gunicorn 2
workers x 4 threads, the outbox relay, the Celery worker, two relays, nginx), on free ports, with
its own database (BENCH_DATABASE_URL, default taskflow_bench_soak), Redis database (BENCH_REDIS_URL,
default redis://127.0.0.1:6379/15) and user ids from 980,000,000 (pub/sub channels are shared by
every Redis database). The clients use the `pair` gateway (both relays behind it, balanced by open
connections), so both relays carry sockets and every event crosses Redis to both.

People: `--sockets` / `--sockets-per-user` (4) members, in projects of `--members` (20) each
(25 projects by default), plus one writer per project who holds no socket. They are made in the
database by django-core's own functions (`manage.py shell`: `project_create`, `membership_add`),
since hashing 500 passwords through `/api/auth/register` would take minutes; their JWTs come from
`token_pair_for`. Every ticket comes from `POST /api/realtime/ticket` through the gateway.

Load: the writers `POST /api/tasks {"project", "title"}` through the gateway on schedule (open
loop: sent whether or not the earlier ones answered; 16 client threads), round-robin over the
projects. Each write is a board event (`task.created`) for every member of its project, so it
fans out to `--members` x `--sockets-per-user` (80) sockets: 4,000 frames/s at the defaults. The
task's title carries the write's number and the wall-clock instant its request was sent, so a
frame is matched to its write by number on arrival; latency = the frame's arrival - that instant
(the request, the commit, the publish, both relays and nginx). The sockets run in a process of
their own (one asyncio loop), so the writers' threads never delay a frame's timestamp. A socket
that closes reconnects with its last cursor (a fresh ticket), and replay must close the gap: its
events count as delivered, late; a `resync` frame is counted.

Timeline: sockets open; `--warmup` s (60) of writes at the full rate (not in the figures); RSS
"start"; `--minutes` measured minutes; RSS "end" once the last write is answered; then up to 15 s
for the last frames. A stack slower than `--rate` falls behind the schedule (16 writer threads, each
waiting for its answer): each minute's row says how far behind its last write was sent, and the
writes' average rate is printed. RSS is read from /proc (VmRSS) for every process of django-core (gunicorn master and
workers), the outbox relay, the Celery worker, both relays and the pair gateway's nginx (master
and worker).

Goals (issue 18), each printed beside its ceiling:
- RSS flat: end / start <= 1.10 for every process;
- events lost: 0 (a write's frame missing on any socket of its project 15 s after the last write);
- no upward drift of p99: the median of the last three minutes' p99 <= 1.5 x the median of the
  first three minutes' p99 (with fewer than six minutes: the last minute against the first). The
  least-squares slope of the per-minute p99 is printed beside it, in ms per minute.
Beside them, whether the load asked was reached (writes sent on average >= 95 % of `--rate`).

    .venv/bin/python -m bench.soak [--quick] [--sockets 2000] [--rate 50] [--minutes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import threading
import time
from array import array
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    DJANGO_DIR,
    RESULTS_DIR,
    ensure_jwt_keys,
    latency_distribution,
    report_machine_load,
    run_main,
    step,
    write_results,
)

RESULTS_PATH = RESULTS_DIR / "soak.json"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow_bench_soak"
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/15"
USER_ID_START = 980_000_000  # e2e: 900-915 M, bench.gateway 950 M, bench.board 960 M, request_latency 970 M
WRITER_THREADS = 16
DRAIN_S = 15.0
TITLE_PREFIX = "soak"
# Goals (issue 18).
GOAL_RSS_RATIO = 1.10
GOAL_LOST = 0
GOAL_P99_DRIFT = 1.5
# The processes whose memory is watched (tests/e2e/stack.py names), and the gateway in use.
GATEWAY = "pair"
WATCHED = ("django", "outbox", "worker", "realtime-a", "realtime-b", f"gateway-{GATEWAY}")
STACK_SETTINGS = {
    # Production's defaults rather than the e2e suite's: no line per delivered frame.
    "LOG_LEVEL": "INFO",
    "LOG_DELIVERIES": "false",
    # The longest access token there is: the writers' tokens are renewed on a 401 anyway.
    "ACCESS_TOKEN_MINUTES": "15",
}
GATEWAY_SETTINGS = {
    # Every socket comes from one address here; each holds two connections in nginx.
    "GATEWAY_WS_CONNECTIONS_PER_IP": "60000",
    "GATEWAY_WORKER_CONNECTIONS": "16384",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=None, help="WebSockets open (default 2000; --quick 400)")
    parser.add_argument("--rate", type=float, default=50.0, help="writes per second (default 50)")
    parser.add_argument("--minutes", type=int, default=None, help="measured minutes (default 10; --quick 1)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of load before RSS start (default 60)")
    parser.add_argument("--sockets-per-user", type=int, default=4, help="sockets each member holds (default 4)")
    parser.add_argument("--members", type=int, default=20, help="members per project (default 20)")
    parser.add_argument("--quick", action="store_true", help="a 1-minute check: 400 sockets, 15 s warm-up")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    args = parser.parse_args(argv)
    if args.sockets is None:
        args.sockets = 400 if args.quick else 2_000
    if args.minutes is None:
        args.minutes = 1 if args.quick else 10
    if args.warmup is None:
        args.warmup = 15.0 if args.quick else 60.0
    if min(args.sockets, args.rate, args.minutes, args.sockets_per_user, args.members) <= 0 or args.warmup < 0:
        parser.error("counts, rate and durations must be positive")
    users = args.sockets // args.sockets_per_user
    if users % args.members or users < args.members:
        parser.error("--sockets / --sockets-per-user must be a multiple of --members")
    args.projects = users // args.members
    return args


# --- Accounts ------------------------------------------------------------------------------------


class Account:
    """One person's tokens, renewed (refresh rotation) when the API answers 401; shared by threads."""

    def __init__(self, base_url: str, access: str, refresh: str) -> None:
        self.base_url, self.access, self.refresh = base_url, access, refresh
        self.lock = threading.Lock()

    def renew(self, stale: str, session: requests.Session) -> None:
        with self.lock:
            if self.access != stale:
                return  # another thread did
            response = session.post(f"{self.base_url}/api/auth/refresh", json={"refresh": self.refresh}, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"token refresh: {response.status_code} {response.text[:200]}")
            tokens = response.json()
            self.access, self.refresh = tokens["access"], tokens["refresh"]

    def call(self, session: requests.Session, method: str, path: str, body: Any = None) -> requests.Response:
        for _ in range(2):
            access = self.access
            response = session.request(
                method, f"{self.base_url}{path}", json=body, headers={"Authorization": f"Bearer {access}"}, timeout=30
            )
            if response.status_code != 401:
                return response
            self.renew(access, session)
        return response


# --- People, made by django-core's own functions -----------------------------------------------

SEED_SCRIPT = """
import json, os
from accounts.models import User
from accounts.services import token_pair_for
from projects.models import Role
from projects.services import membership_add, project_create

config = json.loads(os.environ["SOAK_SEED"])
staff = User.objects.create_user("staff@soak.example.com", name="Soak staff", is_staff=True)
projects = []
for p in range(config["projects"]):
    writer = User.objects.create_user(f"writer{p}@soak.example.com", name=f"Writer {p}")
    project = project_create(actor=writer, name=f"Soak {p}")
    members = []
    for m in range(config["members"]):
        user = User.objects.create_user(f"member{p}-{m}@soak.example.com", name=f"Member {p}-{m}")
        membership_add(project=project, actor=staff, user=user, role=Role.MEMBER, staff=True)
        pair = token_pair_for(user)
        members.append({"id": user.id, "access": pair.access, "refresh": pair.refresh})
    pair = token_pair_for(writer)
    projects.append({"id": project.id, "writer": {"access": pair.access, "refresh": pair.refresh}, "members": members})
print("SOAK-SEED " + json.dumps(projects))
"""


def seed(stack: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    step(f"making {args.projects} projects of {args.members} members (+ a writer each) with django-core's services")
    env = stack.env(SOAK_SEED=json.dumps({"projects": args.projects, "members": args.members}))
    completed = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED_SCRIPT],
        cwd=DJANGO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith("SOAK-SEED "):
            projects: list[dict[str, Any]] = json.loads(line.removeprefix("SOAK-SEED "))
            return projects
    raise RuntimeError(
        f"seeding failed ({completed.returncode}):\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
    )


# --- The sockets: a process of their own ---------------------------------------------------------


class Receiver:
    """Every socket in one asyncio loop. A frame of write number N (its task's title) adds one to
    delivered[N] and its latency to N's minute of the schedule (-1: the warm-up)."""

    def __init__(self, config: dict[str, Any], conn: Any) -> None:
        self.config, self.conn = config, conn
        self.delivered = array("H", bytes(2 * config["total_writes"]))
        self.latencies: dict[int, array[float]] = {}
        self.counts: Counter[str] = Counter()
        self.resyncs_by_minute: Counter[int] = Counter()
        self.reconnects_by_minute: Counter[int] = Counter()
        self.open_by_project: Counter[int] = Counter()
        self.connected = 0
        self.stopping = False
        self.http = ThreadPoolExecutor(max_workers=8)
        self.local = threading.local()

    def minute_of_write(self, number: int) -> int:
        warm = self.config["warm_writes"]
        return -1 if number < warm else (number - warm) // self.config["writes_per_minute"]

    def minute_of(self, instant: float) -> int:
        start = self.config["measure_start"]
        return -1 if start is None else max(-1, int((instant - start) // 60))

    # Blocking HTTP, in the thread pool.
    def _ticket(self, account: Account) -> str:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        response = account.call(self.local.session, "POST", "/api/realtime/ticket")
        if response.status_code != 201:
            raise RuntimeError(f"ticket: {response.status_code} {response.text[:200]}")
        return str(response.json()["ticket"])

    async def run(self) -> None:
        import websockets

        loop = asyncio.get_running_loop()
        commands: asyncio.Queue[Any] = asyncio.Queue()

        def listen() -> None:
            while True:
                try:
                    command = self.conn.recv()
                except EOFError:
                    command = "stop"
                loop.call_soon_threadsafe(commands.put_nowait, command)
                if command == "stop":
                    return

        threading.Thread(target=listen, daemon=True).start()
        gate = asyncio.Semaphore(64)  # handshakes at once
        opened = asyncio.Event()
        wanted = sum(len(p["members"]) for p in self.config["projects"]) * self.config["sockets_per_user"]

        async def socket_loop(project_id: int, user_id: int, account: Account) -> None:
            cursor: str | None = None
            first = True
            recent: set[int] = set()
            order: deque[int] = deque()
            while not self.stopping:
                try:
                    async with gate:
                        ticket = await loop.run_in_executor(self.http, self._ticket, account)
                        url = f"{self.config['ws_url']}/ws/notifications?ticket={ticket}"
                        if cursor:
                            url += f"&cursor={cursor}"
                        socket = await websockets.connect(
                            url, origin=self.config["origin"], compression=None, ping_interval=None, open_timeout=30
                        )
                    async with socket:
                        hello = json.loads(await socket.recv())
                        if hello.get("type") != "hello" or hello.get("user_id") != user_id:
                            raise RuntimeError(f"unexpected first frame {hello}")
                        cursor = cursor or hello.get("cursor")
                        if first:
                            first = False
                            self.connected += 1
                            self.open_by_project[project_id] += 1
                            if self.connected == wanted:
                                opened.set()
                        async for raw in socket:
                            arrived = time.time()
                            frame = json.loads(raw)
                            kind = frame.get("type")
                            if kind == "resync":
                                self.counts["resync"] += 1
                                self.resyncs_by_minute[self.minute_of(arrived)] += 1
                                continue
                            if kind != "event":
                                continue
                            cursor = frame.get("cursor") or cursor
                            event = frame["event"]
                            self.counts["frames"] += 1
                            if event["type"] != "task.created":
                                continue
                            parts = event["data"]["task"]["title"].split()
                            if len(parts) != 3 or parts[0] != TITLE_PREFIX:
                                continue
                            number, sent = int(parts[1]), float(parts[2])
                            if number in recent:
                                self.counts["duplicates"] += 1
                                continue
                            recent.add(number)
                            order.append(number)
                            if len(order) > 512:
                                recent.discard(order.popleft())
                            if self.delivered[number] < 65_535:
                                self.delivered[number] += 1
                            minute = self.minute_of_write(number)
                            self.latencies.setdefault(minute, array("d")).append(1_000 * (arrived - sent))
                    if self.stopping:
                        return
                    self.counts[f"closed {socket.close_code}"] += 1
                except asyncio.CancelledError:
                    return
                except Exception as error:  # counted; the socket tries again
                    if self.stopping:
                        return
                    self.counts[f"error {type(error).__name__}"] += 1
                    if first and self.counts[f"error {type(error).__name__}"] > 50:
                        raise
                self.counts["reconnects"] += 1
                self.reconnects_by_minute[self.minute_of(time.time())] += 1
                await asyncio.sleep(0.2 + random.random())

        tasks = []
        for project in self.config["projects"]:
            for member in project["members"]:
                account = Account(self.config["api_url"], member["access"], member["refresh"])
                for _ in range(self.config["sockets_per_user"]):
                    tasks.append(asyncio.create_task(socket_loop(project["id"], member["id"], account)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(opened.wait(), timeout=300)
        self.conn.send({"connected": self.connected, "wanted": wanted, "by_project": dict(self.open_by_project)})
        while True:
            command = await commands.get()
            if isinstance(command, dict):
                self.config.update(command)  # the schedule
            elif command == "progress":
                self.conn.send({"matched": sum(self.delivered), "counts": dict(self.counts)})
            elif command == "report":
                self.conn.send(self.report())
            elif command == "stop":
                break
        self.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def report(self) -> dict[str, Any]:
        return {
            "delivered": list(self.delivered),
            "latency_by_minute": {
                minute: latency_distribution(list(values)) for minute, values in sorted(self.latencies.items())
            },
            "resyncs_by_minute": dict(self.resyncs_by_minute),
            "reconnects_by_minute": dict(self.reconnects_by_minute),
            "counts": dict(self.counts),
        }


def receiver_main(config: dict[str, Any], conn: Any) -> None:
    """The sockets' process (multiprocessing, spawned)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(Receiver(config, conn).run())
    except BaseException as error:
        with contextlib.suppress(Exception):
            conn.send({"error": repr(error)})
        raise


# --- Memory of the stack's processes -------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    return children


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def stack_rss(stack: Any) -> dict[str, dict[str, int]]:
    """{label: {pid, rss_kib}} for every watched process and its children (gunicorn's and nginx's
    workers), children labelled by start order."""
    children = _children()
    found: dict[str, dict[str, int]] = {}
    for process in stack.processes:
        if process.name not in WATCHED or not process.running:
            continue
        root = process.popen.pid
        for label, pid in [(process.name, root)] + [
            (f"{process.name} worker {n}", child) for n, child in enumerate(sorted(children.get(root, [])), 1)
        ]:
            rss = _rss_kib(pid)
            if rss is not None:
                found[label] = {"pid": pid, "rss_kib": rss}
    return found


# --- Writes --------------------------------------------------------------------------------------


class Writers:
    """`POST /api/tasks` on schedule through the gateway, from WRITER_THREADS threads."""

    def __init__(self, api_url: str, projects: list[dict[str, Any]], total: int) -> None:
        self.projects = projects
        self.accounts = [Account(api_url, p["writer"]["access"], p["writer"]["refresh"]) for p in projects]
        self.ok = bytearray(total)
        self.request_ms: dict[int, list[float]] = {}
        self.late_s: dict[int, float] = {}
        self.load_by_minute: dict[int, float] = {}  # the machine's 1-minute load average at its end
        self.first_sent = self.last_sent = 0.0
        self.failures: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()

    def write(self, number: int, scheduled: float, minute: int) -> None:
        delay = scheduled - time.time()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        index = number % len(self.projects)
        sent = time.time()
        body = {"project": self.projects[index]["id"], "title": f"{TITLE_PREFIX} {number} {sent:.6f}"}
        try:
            response = self.accounts[index].call(self.local.session, "POST", "/api/tasks", body)
            outcome = "ok" if response.status_code == 201 else f"HTTP {response.status_code}"
        except (requests.RequestException, RuntimeError) as error:
            outcome = type(error).__name__
        elapsed = 1_000 * (time.time() - sent)
        with self.lock:
            self.first_sent = min(self.first_sent or sent, sent)
            self.last_sent = max(self.last_sent, sent)
            self.late_s[minute] = max(self.late_s.get(minute, 0.0), sent - scheduled)
            if outcome == "ok":
                self.ok[number] = 1
                self.request_ms.setdefault(minute, []).append(elapsed)
            else:
                self.failures[outcome] += 1


# --- Run -----------------------------------------------------------------------------------------


def p99_drift(p99s: list[float]) -> dict[str, Any]:
    """Last minutes' p99 against the first ones' (docstring: "no upward drift")."""
    window = 3 if len(p99s) >= 6 else 1
    first, last = statistics.median(p99s[:window]), statistics.median(p99s[-window:])
    slope = 0.0
    if len(p99s) > 1:
        xs = range(len(p99s))
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(p99s)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, p99s, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs
        )
    return {
        "window_minutes": window,
        "first_p99_ms": round(first, 2),
        "last_p99_ms": round(last, 2),
        "ratio": round(last / first, 3) if first else None,
        "slope_ms_per_minute": round(slope, 3),
    }


def run(args: argparse.Namespace) -> int:
    from bench.gateway import bench_stack

    ensure_jwt_keys()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the stack's processes inherit it
    load = report_machine_load()
    fan_out = args.members * args.sockets_per_user
    with bench_stack(
        "soak",
        database_url=DATABASE_URL,
        redis_db=0,
        redis_url=REDIS_URL,
        user_id_start=USER_ID_START,
        extra_env=STACK_SETTINGS,
        gateway_settings=GATEWAY_SETTINGS,
    ) as (stack, _mail_sink):
        gateway = stack.gateways[GATEWAY]
        projects = seed(stack, args)
        warm_writes = int(args.rate * args.warmup)
        total = warm_writes + int(args.rate * 60 * args.minutes)
        step(f"opening {args.sockets} sockets through the gateway ({args.sockets_per_user} per member)")
        config = {
            "projects": projects,
            "sockets_per_user": args.sockets_per_user,
            "api_url": gateway.url,
            "ws_url": gateway.ws_url,
            "origin": gateway.url,
            "total_writes": total,
            "warm_writes": warm_writes,
            "writes_per_minute": int(args.rate * 60),
            "measure_start": None,  # sent once the sockets are open
        }
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        receiver = context.Process(target=receiver_main, args=(config, theirs), daemon=True)
        receiver.start()
        try:
            return _soak(args, stack, projects, ours, total, warm_writes, fan_out, load)
        finally:
            with contextlib.suppress(Exception):
                ours.send("stop")
            receiver.join(30)
            if receiver.is_alive():
                receiver.kill()


def _soak(
    args: argparse.Namespace,
    stack: Any,
    projects: list[dict[str, Any]],
    conn: Any,
    total: int,
    warm_writes: int,
    fan_out: int,
    load: float,
) -> int:
    if not conn.poll(360):
        raise RuntimeError("the sockets did not open within 6 minutes")
    opened = conn.recv()
    if "error" in opened:
        raise RuntimeError(f"the sockets' process failed: {opened['error']}")
    print(f"    {opened['connected']}/{opened['wanted']} sockets open", flush=True)
    if opened["connected"] < opened["wanted"]:
        raise RuntimeError(f"only {opened['connected']} of {opened['wanted']} sockets opened")
    # The schedule, fixed before the first write: write N is due at epoch + N / rate, and its
    # frames are filed (here and in the receiver) under N's minute of that schedule.
    epoch = time.time() + 2
    measure_start = epoch + args.warmup
    conn.send({"measure_start": measure_start})
    time.sleep(max(0.0, epoch - time.time()))
    writers = Writers(stack.gateways[GATEWAY].url, projects, total)
    rss: dict[str, Any] = {}
    rss_by_minute: list[dict[str, dict[str, int]]] = []
    step(
        f"{args.rate:.0f} writes/s, each to {fan_out} sockets: {args.warmup:.0f} s warm-up, "
        f"then {args.minutes} measured minute(s)"
    )
    next_minute = 0
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        for number in range(total):
            scheduled = epoch + number / args.rate
            minute = -1 if number < warm_writes else (number - warm_writes) // int(args.rate * 60)
            if number == warm_writes:
                time.sleep(max(0.0, scheduled - time.time()))
                rss["start"] = stack_rss(stack)
                rss_by_minute.append(rss["start"])
                step("warm-up over: RSS start taken")
            if minute >= next_minute + 1:
                time.sleep(max(0.0, scheduled - time.time()))
                rss_by_minute.append(stack_rss(stack))
                _progress(conn, writers, next_minute)
                next_minute = minute
            while scheduled - time.time() > 0.5:
                time.sleep(0.1)
            pool.submit(writers.write, number, scheduled, minute)
        time.sleep(max(0.0, epoch + total / args.rate - time.time()))
        rss_by_minute.append(stack_rss(stack))  # the last write due
    # The pool is done: every write answered, however far behind the schedule the stack was.
    rss["end"] = stack_rss(stack)
    rss_by_minute.append(rss["end"])
    _progress(conn, writers, next_minute)
    expected_total = sum(fan_out for number in range(total) if writers.ok[number])
    deadline = time.time() + DRAIN_S
    while time.time() < deadline:
        conn.send("progress")
        if conn.recv()["matched"] >= expected_total:
            break
        time.sleep(0.5)
    conn.send("report")
    report = conn.recv()
    payload = summarize(args, writers, report, rss, rss_by_minute, total, warm_writes, fan_out, load, opened)
    print_report(payload)
    write_results(args.output, payload)
    return 0


def _progress(conn: Any, writers: Writers, minute: int) -> None:
    conn.send("progress")
    progress = conn.recv()
    with writers.lock:
        sent = len(writers.request_ms.get(minute, []))
        failed = sum(writers.failures.values())
    label = "warm-up" if minute < 0 else f"minute {minute + 1}"
    writers.load_by_minute[minute] = round(os.getloadavg()[0], 2)
    print(
        f"    {label} (load {writers.load_by_minute[minute]:.1f}): {sent} writes answered, {failed} failed so far, "
        f"{progress['matched']} frames matched so far, "
        f"{progress['counts'].get('reconnects', 0)} reconnects, {progress['counts'].get('resync', 0)} resyncs",
        flush=True,
    )


def summarize(
    args: argparse.Namespace,
    writers: Writers,
    report: dict[str, Any],
    rss: dict[str, Any],
    rss_by_minute: list[dict[str, dict[str, int]]],
    total: int,
    warm_writes: int,
    fan_out: int,
    load: float,
    opened: dict[str, Any],
) -> dict[str, Any]:
    delivered = report["delivered"]
    latency = {int(minute): value for minute, value in report["latency_by_minute"].items()}
    minutes = []
    per_minute_writes = int(args.rate * 60)
    for minute in range(args.minutes):
        numbers = range(warm_writes + minute * per_minute_writes, warm_writes + (minute + 1) * per_minute_writes)
        ok = [number for number in numbers if writers.ok[number]]
        expected = fan_out * len(ok)
        got = sum(min(delivered[number], fan_out) for number in ok)
        request = latency_distribution(writers.request_ms.get(minute, [])) or {}
        frames = latency.get(minute) or {}
        minutes.append(
            {
                "minute": minute + 1,
                "writes": len(ok),
                "failed_writes": len(numbers) - len(ok),
                "expected": expected,
                "delivered": got,
                "lost": expected - got,
                "p50_ms": frames.get("p50_ms"),
                "p99_ms": frames.get("p99_ms"),
                "max_ms": frames.get("max_ms"),
                "post_p99_ms": request.get("p99_ms"),
                # How far the latest write of the minute left behind its schedule: the writers
                # (16 threads) wait for answers, so a slow stack shows here as lateness.
                "behind_s": round(writers.late_s.get(minute, 0.0), 2),
                "load_average": writers.load_by_minute.get(minute),
                "resyncs": report["resyncs_by_minute"].get(str(minute), report["resyncs_by_minute"].get(minute, 0)),
                "reconnects": report["reconnects_by_minute"].get(
                    str(minute), report["reconnects_by_minute"].get(minute, 0)
                ),
            }
        )
    processes = []
    for label, start in rss.get("start", {}).items():
        end = rss.get("end", {}).get(label)
        processes.append(
            {
                "process": label,
                "start_mib": round(start["rss_kib"] / 1024, 1),
                "end_mib": round(end["rss_kib"] / 1024, 1) if end else None,
                "ratio": round(end["rss_kib"] / start["rss_kib"], 3) if end else None,
                "restarted": bool(end) and end["pid"] != start["pid"],
            }
        )
    lost = sum(minute["lost"] for minute in minutes)
    warm_lost = sum(fan_out - min(delivered[n], fan_out) for n in range(warm_writes) if writers.ok[n])
    p99s = [minute["p99_ms"] for minute in minutes if minute["p99_ms"] is not None]
    drift = p99_drift(p99s) if p99s else None
    worst = max(processes, key=lambda p: p["ratio"] or 99.0) if processes else None
    achieved = round((total - 1) / max(1e-9, writers.last_sent - writers.first_sent), 1)
    goals = [
        {
            "goal": "RSS end/start, every process",
            "measured": f"{worst['ratio']} ({worst['process']})" if worst else "n/a",
            "ceiling": f"<= {GOAL_RSS_RATIO:.2f}",
            "met": bool(processes) and all(p["ratio"] is not None and p["ratio"] <= GOAL_RSS_RATIO for p in processes),
        },
        {"goal": "events lost", "measured": str(lost), "ceiling": f"= {GOAL_LOST}", "met": lost == GOAL_LOST},
        {
            "goal": f"p99 drift (median of last {drift['window_minutes']} min / first {drift['window_minutes']} min)"
            if drift
            else "p99 drift",
            "measured": f"{drift['ratio']} ({drift['first_p99_ms']} -> {drift['last_p99_ms']} ms; "
            f"slope {drift['slope_ms_per_minute']:+.2f} ms/min)"
            if drift
            else "n/a",
            "ceiling": f"<= {GOAL_P99_DRIFT}",
            "met": drift is not None and drift["ratio"] is not None and drift["ratio"] <= GOAL_P99_DRIFT,
        },
        {
            # Not a goal of its own but what the others were measured under: a stack that fell
            # behind ran a lighter soak than asked.
            "goal": "the load asked: writes/s sent on average",
            "measured": f"{achieved}",
            "ceiling": f">= {0.95 * args.rate:.1f}",
            "met": achieved >= 0.95 * args.rate,
        },
    ]
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": round(load, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "sockets": args.sockets,
            "sockets_open": opened["connected"],
            "rate": args.rate,
            "minutes": args.minutes,
            "warmup_s": args.warmup,
            "projects": args.projects,
            "members": args.members,
            "sockets_per_user": args.sockets_per_user,
            "fan_out": fan_out,
        },
        "minutes": minutes,
        "warmup_lost": warm_lost,
        "failed_writes": dict(writers.failures),
        "warmup_behind_s": round(writers.late_s.get(-1, 0.0), 2),
        # Writes sent / the time from the first to the last: below --rate when the stack fell behind.
        "achieved_rate": achieved,
        "rss": processes,
        "rss_by_minute": rss_by_minute,
        "receiver_counts": report["counts"],
        "drift": drift,
        "goals": goals,
    }


def print_report(payload: dict[str, Any]) -> None:
    settings = payload["settings"]
    print("")
    print(
        f"Soak: {settings['sockets_open']} sockets, {settings['rate']:.0f} writes/s to {settings['projects']} projects "
        f"(each to {settings['fan_out']} sockets), {settings['minutes']} min after {settings['warmup_s']:.0f} s warm-up"
    )
    print(
        f"  {'min':>3} {'writes':>6} {'failed':>6} {'expected':>9} {'delivered':>9} {'lost':>5} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'POST p99':>8} {'behind s':>8} {'resyncs':>7} {'reconn':>6} "
        f"{'load':>5}"
    )
    for row in payload["minutes"]:
        print(
            f"  {row['minute']:>3} {row['writes']:>6} {row['failed_writes']:>6} {row['expected']:>9} "
            f"{row['delivered']:>9} {row['lost']:>5} {row['p50_ms'] or 0:>7.1f} {row['p99_ms'] or 0:>7.1f} "
            f"{row['max_ms'] or 0:>7.1f} {row['post_p99_ms'] or 0:>8.1f} {row['behind_s']:>8.1f} "
            f"{row['resyncs']:>7} {row['reconnects']:>6} {row['load_average'] or 0:>5.1f}"
        )
    print("")
    print(f"  {'process':<26} {'RSS start MiB':>13} {'end MiB':>8} {'end/start':>9}")
    for row in payload["rss"]:
        note = " (restarted)" if row["restarted"] else ""
        print(
            f"  {row['process']:<26} {row['start_mib']:>13.1f} {row['end_mib'] or 0:>8.1f} "
            f"{row['ratio'] or 0:>9.3f}{note}"
        )
    print("")
    print(f"  {'goal':<52} {'measured':<44} {'ceiling':<8} met")
    for goal in payload["goals"]:
        print(f"  {goal['goal']:<52} {goal['measured']:<44} {goal['ceiling']:<8} {'yes' if goal['met'] else 'NO'}")
    print(f"  writes sent at {payload['achieved_rate']:.1f}/s on average ({settings['rate']:.0f}/s asked)")
    print(
        f"  (warm-up lost {payload['warmup_lost']}; failed writes {payload['failed_writes'] or 0}; "
        f"warm-up {payload['warmup_behind_s']} s behind schedule at most; sockets: {payload['receiver_counts']})"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
