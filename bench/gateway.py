"""End-to-end benchmark through the gateway (`make bench`): what a client sees with nginx in
front, and what nginx costs. Figures are printed and written to bench/results/gateway.json,
never asserted.

The stack is the end-to-end suite's (tests/e2e/stack.py): gunicorn (2 workers x 4 threads, as
the Procfile), the outbox relay, fastapi-realtime under uvicorn and nginx rendered from
gateway/nginx.conf.template, on free loopback ports, with its own database (taskflow_bench_gateway)
and Redis database 14; the load generator runs on the same machine. The gateway's rate limits are
raised for the bench (one client address opens every socket and logs every user in).

1. **API write -> assignee's socket.** `--assignees` (20) people with a socket each and one actor
   assigning them tasks, round-robin, with `POST /api/tasks {"project", "title", "assignee"}` at
   `--rate` (100) assignments/s, open loop (a request is sent on schedule, whether or not the
   earlier ones have answered; 16 client threads), for `--duration` s after `--warmup` s. A new
   task each time keeps the fan-out constant (re-assigning one task would notify every earlier
   assignee, who watches it). Latency = the assignee's socket receiving that task's
   `task.assigned` frame - the instant the request was sent: the request, the commit, the
   publish, the relay and the gateway. p50/p95/p99/max, through the gateway (API and
   socket via nginx) and directly (gunicorn and uvicorn ports), alternately, `--rounds` (2) each.
2. **Gateway overhead per request.** `--requests` (1,000) sequential `GET /api/users/me` and
   `GET /ws/health`, through nginx and directly, interleaved: p50/p99 each and the difference.

    .venv/bin/python -m bench.gateway [--quick] [--rate 100] [--duration 10] [--assignees 20]
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import websockets

from bench.common import (
    REPO_DIR,
    RESULTS_DIR,
    ensure_jwt_keys,
    latency_distribution,
    report_machine_load,
    run_main,
    step,
    write_results,
)

RESULTS_PATH = RESULTS_DIR / "gateway.json"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/taskflow_bench_gateway"
REDIS_DB = 14
USER_ID_START = 950_000_000
PASSWORD = "bench-Secret-pass-1"
BENCH_GATEWAY_SETTINGS = {
    "GATEWAY_AUTH_RATE": "1000r/s",
    "GATEWAY_AUTH_BURST": "1000",
    "GATEWAY_WS_HANDSHAKE_RATE": "1000r/s",
    "GATEWAY_WS_HANDSHAKE_BURST": "1000",
    "GATEWAY_ACCESS_LOG": "off",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=100.0, help="assignments per second (default 100)")
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per round (default 10)")
    parser.add_argument("--warmup", type=float, default=None, help="unmeasured seconds first (default 2)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per path (default 2)")
    parser.add_argument("--assignees", type=int, default=20, help="people with a socket (default 20)")
    parser.add_argument("--requests", type=int, default=None, help="requests per path in part 2 (default 1000)")
    parser.add_argument("--quick", action="store_true", help="3 s rounds, 1 round each, 300 requests: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    if args.requests is None:
        args.requests = 300 if args.quick else 1_000
    if min(args.rate, args.duration, args.assignees, args.rounds, args.requests) <= 0:
        parser.error("counts, rate and duration must be positive")
    return args


# --- People --------------------------------------------------------------------------------------


class Client:
    def __init__(self, base_url: str, access: str = "") -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.access = access

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.access}"} if self.access else {}
        response = self.session.request(method, f"{self.base_url}{path}", json=body, headers=headers, timeout=30)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None


def sign_up(base_url: str, email: str) -> tuple[int, str]:
    client = Client(base_url)
    user = client.call("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": email}, 201)
    tokens = client.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    return user["id"], tokens["access"]


def verify_email(base_url: str, access: str, email: str, mail_sink: Any) -> None:
    """Opens the verification link mailed to `email` (invites are answered by id only from a
    verified address). `mail_sink`: tests/e2e/mail_sink.MailSink, the stack's SMTP server."""
    from tests.e2e.client import VERIFY_LINK

    mail = mail_sink.wait_for(email, "Confirm your email address")
    found = VERIFY_LINK.search(mail.get_body(("plain",)).get_content())
    if found is None:
        raise RuntimeError(f"no verification link in the mail to {email}")
    Client(base_url, access).call("POST", "/api/auth/verify-email", {"token": found.group(1)})


def seed(base_url: str, args: argparse.Namespace, mail_sink: Any) -> dict[str, Any]:
    """An actor owning a project with `--assignees` members: all made through the API."""
    step(f"creating 1 + {args.assignees} people and a project through the API")
    actor_id, actor_access = sign_up(base_url, "actor@bench.example.com")
    actor = Client(base_url, actor_access)
    project = actor.call("POST", "/api/projects", {"name": "Gateway bench"}, 201)
    with ThreadPoolExecutor(max_workers=4) as pool:
        people = list(pool.map(lambda n: sign_up(base_url, f"assignee{n}@bench.example.com"), range(args.assignees)))
    emails = [f"assignee{n}@bench.example.com" for n in range(args.assignees)]
    for (_, access), email in zip(people, emails, strict=True):
        verify_email(base_url, access, email, mail_sink)
        invite = actor.call("POST", f"/api/projects/{project['id']}/invites", {"email": email, "role": "member"}, 201)
        Client(base_url, access).call("POST", f"/api/invites/{invite['id']}/accept", expect=201)
    return {"actor_id": actor_id, "actor_access": actor_access, "people": people, "project_id": project["id"]}


# --- Part 1: API write -> socket -----------------------------------------------------------------


class Receivers:
    """One asyncio loop (its own thread) holding every assignee's socket; records when each
    task.assigned frame of a task assigned to that person arrives, by task id."""

    def __init__(self, ws_base: str, origin: str, api: str, people: list[tuple[int, str]]) -> None:
        self.ws_base, self.origin, self.api, self.people = ws_base, origin, api, people
        self.arrivals: dict[int, float] = {}
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Receivers":
        self.thread.start()
        if not self.ready.wait(60) or self.error:
            raise RuntimeError(f"sockets did not open: {self.error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as error:  # surfaced to the main thread by __enter__
            self.error = error
            self.ready.set()

    async def _main(self) -> None:
        self.stop_event = asyncio.Event()
        sockets = []
        for user_id, access in self.people:
            ticket = Client(self.api, access).call("POST", "/api/realtime/ticket", expect=201)["ticket"]
            socket = await websockets.connect(
                f"{self.ws_base}/ws/notifications?ticket={ticket}", origin=self.origin, compression=None
            )
            hello = json.loads(await socket.recv())
            if hello.get("type") != "hello" or hello.get("user_id") != user_id:
                raise RuntimeError(f"unexpected first frame {hello}")
            sockets.append((user_id, socket))
        readers = [asyncio.create_task(self._read(user_id, socket)) for user_id, socket in sockets]
        self.ready.set()
        await self.stop_event.wait()
        for reader in readers:
            reader.cancel()
        for _, socket in sockets:
            await socket.close()

    async def _read(self, user_id: int, socket: Any) -> None:
        async for raw in socket:
            received = time.monotonic()
            frame = json.loads(raw)
            if frame.get("type") != "event" or frame["event"]["type"] != "task.assigned":
                continue
            task = frame["event"]["data"]["task"]
            if task["assignee_id"] == user_id:
                with self.lock:
                    self.arrivals.setdefault(task["id"], received)

    def take(self, task_id: int) -> float | None:
        with self.lock:
            return self.arrivals.pop(task_id, None)


def assignment_round(
    api: str, ws_base: str, origin: str, seeded: dict[str, Any], args: argparse.Namespace, offset: int
) -> dict[str, Any]:
    people = seeded["people"]
    total = int(args.rate * (args.warmup + args.duration))
    warm = int(args.rate * args.warmup)
    sent: list[tuple[int, float, bool]] = []
    failures = 0
    local = threading.local()

    def assign(number: int, scheduled: float) -> None:
        nonlocal failures
        assignee_id = people[(offset + number) % len(people)][0]
        body = {"project": seeded["project_id"], "title": f"Bench {offset + number}", "assignee": assignee_id}
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "client"):
            local.client = Client(api, seeded["actor_access"])
        started = time.monotonic()
        try:
            task_id = local.client.call("POST", "/api/tasks", body, expect=201)["id"]
        except (RuntimeError, requests.RequestException):
            failures += 1
            return
        sent.append((task_id, started, number >= warm))

    with Receivers(ws_base, origin, api, people) as receivers:
        begin = time.monotonic() + 0.2
        with ThreadPoolExecutor(max_workers=16) as pool:
            for number in range(total):
                pool.submit(assign, number, begin + number / args.rate)
        achieved = total / max(1e-9, time.monotonic() - begin)
        deadline = time.monotonic() + 10
        latencies: list[float] = []
        missing = 0
        for task_id, started, measured in sorted(sent, key=lambda item: item[1]):
            arrival = None
            while arrival is None and time.monotonic() < deadline:
                arrival = receivers.take(task_id)
                if arrival is None:
                    time.sleep(0.01)
            if arrival is None:
                missing += 1
            elif measured:
                latencies.append(1_000 * (arrival - started))
    return {
        "assignments": total - warm,
        "offered_rate": args.rate,
        "achieved_rate": round(achieved, 1),
        "failed_requests": failures,
        "not_delivered": missing,
        "latency": latency_distribution(latencies),
    }


# --- Part 2: per-request overhead ----------------------------------------------------------------


def request_overhead(paths: dict[str, dict[str, str]], access: str, count: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, (path, auth) in {
        "GET /api/users/me": ("/api/users/me", True),
        "GET /ws/health": ("/ws/health", False),
    }.items():
        sessions = {name: requests.Session() for name in ("gateway", "direct")}
        timings: dict[str, list[float]] = {"gateway": [], "direct": []}
        headers = {"Authorization": f"Bearer {access}"} if auth else {}
        base = "api" if path.startswith("/api") else "ws"
        for number in range(count + 50):
            for name in ("gateway", "direct") if number % 2 == 0 else ("direct", "gateway"):
                started = time.perf_counter()
                response = sessions[name].get(f"{paths[name][base]}{path}", headers=headers, timeout=10)
                elapsed = 1_000 * (time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{name} {path}: {response.status_code}")
                if number >= 50:  # the first ones warm connections and caches
                    timings[name].append(elapsed)
        gateway, direct = latency_distribution(timings["gateway"]), latency_distribution(timings["direct"])
        assert gateway is not None
        assert direct is not None
        results[label] = {
            "gateway": gateway,
            "direct": direct,
            "overhead_p50_ms": round(gateway["p50_ms"] - direct["p50_ms"], 3),
            "overhead_p99_ms": round(gateway["p99_ms"] - direct["p99_ms"], 3),
        }
    return results


# --- Run -----------------------------------------------------------------------------------------


def print_report(payload: dict[str, Any]) -> None:
    print("")
    print(f"API write -> assignee's socket at {payload['rate']:.0f} assignments/s (ms)")
    print(f"  {'path':<10} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'rate/s':>8} {'lost':>5}")
    for name in ("gateway", "direct"):
        for number, result in enumerate(payload["assignments"][name], 1):
            latency = result["latency"] or {}
            print(
                f"  {name + f' #{number}':<10} {latency.get('p50_ms', 0):8.2f} {latency.get('p95_ms', 0):8.2f} "
                f"{latency.get('p99_ms', 0):8.2f} {latency.get('max_ms', 0):8.2f} {result['achieved_rate']:8.1f} "
                f"{result['not_delivered'] + result['failed_requests']:5d}"
            )
    print("")
    print("Gateway overhead per request (sequential, keep-alive; ms)")
    for label, result in payload["requests"].items():
        print(
            f"  {label:<20} via nginx p50 {result['gateway']['p50_ms']:.3f} p99 {result['gateway']['p99_ms']:.3f}"
            f" | direct p50 {result['direct']['p50_ms']:.3f} p99 {result['direct']['p99_ms']:.3f}"
            f" | overhead p50 {result['overhead_p50_ms']:+.3f} p99 {result['overhead_p99_ms']:+.3f}"
        )


@contextlib.contextmanager
def bench_stack(
    name: str,
    *,
    database_url: str,
    redis_db: int,
    user_id_start: int,
    extra_env: dict[str, str] | None = None,
    redis_url: str | None = None,
    gateway_settings: dict[str, str] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """The whole stack behind nginx on free ports (tests/e2e/stack.py) with a mail sink for its
    mail; yields (stack, mail_sink). bench.gateway, bench.board, bench.request_latency and
    bench.soak run on it. `redis_url` (a whole URL) replaces REDIS_URL's host with `redis_db`;
    `gateway_settings` are added to BENCH_GATEWAY_SETTINGS."""
    sys.path.insert(0, str(REPO_DIR))
    from tests.e2e.mail_sink import MailSink
    from tests.e2e.stack import free_port, running_stack

    netloc = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").netloc
    mail_sink = MailSink(free_port()).start()
    try:
        with tempfile.TemporaryDirectory(prefix=f"taskflow-bench-{name}-") as work_dir:
            step("starting the stack (gunicorn, outbox relay, Celery worker, relay, nginx) on free ports")
            with running_stack(
                Path(work_dir),
                database_url=database_url,
                redis_url=redis_url or f"redis://{netloc}/{redis_db}",
                user_id_start=user_id_start,
                extra_env={
                    **(extra_env or {}),
                    "EMAIL_HOST": "127.0.0.1",
                    "EMAIL_PORT": str(mail_sink.port),
                    "EMAIL_TIMEOUT": "5",
                },
                gateway_settings={**BENCH_GATEWAY_SETTINGS, **(gateway_settings or {})},
            ) as stack:
                yield stack, mail_sink
    finally:
        mail_sink.stop()


def run(args: argparse.Namespace) -> int:
    ensure_jwt_keys()
    load = report_machine_load()
    with bench_stack(
        "gateway",
        database_url=DATABASE_URL,
        redis_db=REDIS_DB,
        user_id_start=USER_ID_START,
    ) as (stack, mail_sink):
        gateway = stack.gateways["single"]
        relay = stack.relays["a"]
        paths = {
            "gateway": {"api": gateway.url, "ws": gateway.url, "socket": gateway.ws_url},
            "direct": {
                "api": f"http://127.0.0.1:{stack.django_port}",
                "ws": f"http://127.0.0.1:{relay.port}",
                "socket": f"ws://127.0.0.1:{relay.port}",
            },
        }
        seeded = seed(gateway.url, args, mail_sink)
        rounds: dict[str, list[dict[str, Any]]] = {"gateway": [], "direct": []}
        offset = 0
        for number in range(args.rounds):
            for name in ("gateway", "direct") if number % 2 == 0 else ("direct", "gateway"):
                step(
                    f"part 1, {name}: {args.rate:.0f} assignments/s for {args.duration:.0f} s "
                    f"(+{args.warmup:.0f} s warm-up), round {number + 1}/{args.rounds}"
                )
                result = assignment_round(paths[name]["api"], paths[name]["socket"], gateway.url, seeded, args, offset)
                offset += int(args.rate * (args.warmup + args.duration))
                latency = result["latency"] or {}
                print(
                    f"    p50 {latency.get('p50_ms', 0):.2f} ms, p99 {latency.get('p99_ms', 0):.2f} ms, "
                    f"{result['achieved_rate']:.0f}/s sent, {result['not_delivered']} not delivered",
                    flush=True,
                )
                rounds[name].append(result)
        step(f"part 2: {args.requests} sequential requests per path, through nginx and directly")
        overhead = request_overhead(paths, seeded["actor_access"], args.requests)
    payload = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": round(load, 2)},
        "rate": args.rate,
        "duration_s": args.duration,
        "assignees": args.assignees,
        "assignments": rounds,
        "requests": overhead,
    }
    print_report(payload)
    write_results(args.output, payload)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
