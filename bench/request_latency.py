"""Single requests and the write path through the gateway, each beside its ceiling in the same run
(`make bench`; issue 17's django-core goals). Figures are printed beside their goals and written
to bench/results/request_latency.json, never asserted.

The stack is the end-to-end suite's (tests/e2e/stack.py) as bench.gateway starts it — gunicorn
with gunicorn.conf.py, the outbox relay, the relay, nginx — on free ports, with its own database
(taskflow_bench_requests), Redis database `--redis-db` (14) and bench.django_settings, so the
bare views of bench/django_urls.py answer behind the same nginx, gunicorn and middleware.

1. **Single requests, one at a time** (keep-alive, through nginx): `GET /api/users/me` beside
   `/bench/bare/me`, `GET /api/tasks?project=<empty project>` beside `/bench/bare/project-tasks`
   (the same queries without DRF), alternating request by request, `--requests` (1,000) each
   after 100 unmeasured. Goals: p50 <= 2.5 ms and <= 5 ms.
2. **POST /api/tasks with an assignee at `--rate` (20) writes/s** through nginx, open loop (sent on
   schedule whether or not the earlier ones answered), `--duration` s, alternating rounds with the
   bare insert `POST /bench/bare/tasks` (membership check and INSERT only: no event, no
   notification, no watchers). Goals: p50 <= 8 ms, p99 <= 20 ms.
3. **The board's first load**: `GET /api/projects/{id}/board` of a 200-task project, straight to
   gunicorn (server time) and through nginx, `--board-calls` (50) each. Goal: under 30 ms.
4. **Queries per request**, counted in this process against the bench database (Django's test
   client): `GET /api/notifications`, `/api/notifications/unread-count`, `/api/users/me`; the
   goal is one query for each list or count besides the authentication's user lookup.

    .venv/bin/python -m bench.request_latency [--quick] [--requests 1000] [--rate 20] [--duration 20]
"""

import argparse
import contextlib
import http.client
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import (
    DJANGO_DIR,
    REPO_DIR,
    RESULTS_DIR,
    CpuMeter,
    cpu_seconds,
    ensure_jwt_keys,
    latency_distribution,
    report_machine_load,
    run_main,
    step,
    write_results,
)
from bench.gateway import Client, bench_stack, sign_up, verify_email

RESULTS_PATH = RESULTS_DIR / "request_latency.json"
# BENCH_REQUESTS_DATABASE_URL names another one for a run beside another engineer's.
DATABASE_URL = (
    os.environ.get("BENCH_REQUESTS_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow_bench_requests"
)
USER_ID_START = 970_000_000
BOARD_TASKS = 200
GOALS_MS = {"me_p50": 2.5, "empty_list_p50": 5.0, "write_p50": 8.0, "write_p99": 20.0, "board": 30.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.request_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None, help="measured requests per path (default 1000)")
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second in part 2 (default 20)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per write round (default 20)")
    parser.add_argument("--rounds", type=int, default=None, help="write rounds per path (default 2)")
    parser.add_argument("--board-calls", type=int, default=None, help="board loads per path (default 50)")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database index, emptied first (default 14)")
    parser.add_argument("--quick", action="store_true", help="300 requests, 8 s rounds, 1 round: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    args = parser.parse_args(argv)
    args.requests = args.requests or (300 if args.quick else 1_000)
    args.duration = args.duration or (8.0 if args.quick else 20.0)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.board_calls = args.board_calls or (20 if args.quick else 50)
    if min(args.requests, args.rate, args.duration, args.rounds, args.board_calls) <= 0 or args.redis_db == 0:
        parser.error("counts, rate and duration must be positive; Redis database 0 is never used")
    return args


# --- Data ----------------------------------------------------------------------------------------


def seed(base_url: str, mail_sink: Any) -> dict[str, Any]:
    """An actor owning an empty project, a 200-task board project and a project with a teammate
    to assign to: everything through the API."""
    step("creating two people and three projects through the API")
    actor_id, actor_access = sign_up(base_url, "actor@requests.example.com")
    mate_id, mate_access = sign_up(base_url, "mate@requests.example.com")
    verify_email(base_url, mate_access, "mate@requests.example.com", mail_sink)
    actor = Client(base_url, actor_access)
    empty = actor.call("POST", "/api/projects", {"name": "Empty"}, 201)
    board = actor.call("POST", "/api/projects", {"name": "Board"}, 201)
    team = actor.call("POST", "/api/projects", {"name": "Team"}, 201)
    invite = actor.call(
        "POST", f"/api/projects/{team['id']}/invites", {"email": "mate@requests.example.com", "role": "member"}, 201
    )
    Client(base_url, mate_access).call("POST", f"/api/invites/{invite['id']}/accept", expect=201)
    step(f"creating the {BOARD_TASKS}-task board through the API")
    statuses = ("todo", "in_progress", "review", "done")
    for number in range(BOARD_TASKS):
        body = {"project": board["id"], "title": f"Card {number}", "status": statuses[number % len(statuses)]}
        actor.call("POST", "/api/tasks", body, 201)
    return {
        "actor_id": actor_id,
        "actor_access": actor_access,
        "mate_id": mate_id,
        "empty_project": empty["id"],
        "board_project": board["id"],
        "team_project": team["id"],
    }


class Connection:
    """One keep-alive connection timed with http.client: the `requests` library's own overhead
    (about 2 ms a request on this machine) would otherwise dwarf what is measured."""

    def __init__(self, base_url: str, access: str) -> None:
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        self.headers = {"Authorization": f"Bearer {access}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[float, int, Any]:
        """(milliseconds, status, decoded body)."""
        headers = {**self.headers, "Content-Type": "application/json"} if body is not None else self.headers
        payload = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        raw = response.read()
        elapsed = 1_000 * (time.perf_counter() - started)
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = raw[:200]
        return elapsed, response.status, decoded


# --- Part 1: single requests ---------------------------------------------------------------------


def sequential(base_url: str, access: str, pairs: dict[str, tuple[str, str, str]], count: int) -> dict[str, Any]:
    """Each pair's real and bare paths alternately on one keep-alive connection each, `count`
    measured requests per path after 100 unmeasured ones. Both answers must hold `key` with the
    same value, so neither is an error page (or the web client's index.html)."""
    results: dict[str, Any] = {}
    for label, (real, bare, key) in pairs.items():
        connections = {"real": Connection(base_url, access), "bare": Connection(base_url, access)}
        timings: dict[str, list[float]] = {"real": [], "bare": []}
        answers: dict[str, Any] = {}
        for number in range(count + 100):
            for name in ("real", "bare") if number % 2 == 0 else ("bare", "real"):
                path = real if name == "real" else bare
                elapsed, status, body = connections[name].call("GET", path)
                if status != 200 or not isinstance(body, dict) or key not in body:
                    raise RuntimeError(f"{path}: {status} {str(body)[:200]}")
                answers[name] = body[key]
                if number >= 100:
                    timings[name].append(elapsed)
        if answers["real"] != answers["bare"]:
            raise RuntimeError(f"{label}: real and bare differ in {key!r}: {answers}")
        results[label] = {name: latency_distribution(values) for name, values in timings.items()}
    return results


# --- Part 2: the write path ----------------------------------------------------------------------


def server_cpu_seconds(gunicorn_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL backends of
    the bench database: unlike latency, these hardly move when other work shares the machine."""
    import psycopg

    app = sum(cpu_seconds(pid) or 0.0 for pid in CpuMeter(gunicorn_pid)._app_pids())
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return app, sum(cpu_seconds(row[0]) or 0.0 for row in rows)


def write_round(
    base_url: str, seeded: dict[str, Any], args: argparse.Namespace, path: str, gunicorn_pid: int
) -> dict[str, Any]:
    """`args.rate` POSTs a second for `args.duration` s (1 s more unmeasured first), open loop;
    with the CPU gunicorn and the database used per write over the whole round."""
    warm = int(args.rate)
    total = warm + int(args.rate * args.duration)
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    local = threading.local()

    def post(number: int, scheduled: float) -> None:
        nonlocal failures
        body: dict[str, Any] = {"project": seeded["team_project"], "title": f"Write {number}"}
        if path == "/api/tasks":
            body["assignee"] = seeded["mate_id"]
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "connection"):
            local.connection = Connection(base_url, seeded["actor_access"])
        try:
            elapsed, status, answer = local.connection.call("POST", path, body)
        except OSError:
            status, answer = 0, None
        if status != 201 or not isinstance(answer, dict) or "id" not in answer:
            with lock:
                failures += 1
            return
        if number >= warm:
            with lock:
                latencies.append(elapsed)

    begin = time.monotonic() + 0.2
    app_before, db_before = server_cpu_seconds(gunicorn_pid)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for number in range(total):
            pool.submit(post, number, begin + number / args.rate)
    app_after, db_after = server_cpu_seconds(gunicorn_pid)
    return {
        "writes": total - warm,
        "failed": failures,
        "latency": latency_distribution(latencies),
        "app_cpu_ms": round(1_000 * (app_after - app_before) / total, 2),
        "db_cpu_ms": round(1_000 * (db_after - db_before) / total, 2),
    }


# --- Part 3: the board ---------------------------------------------------------------------------


def board_loads(urls: dict[str, str], access: str, project_id: int, calls: int) -> dict[str, Any]:
    connections = {name: Connection(base, access) for name, base in urls.items()}
    timings: dict[str, list[float]] = {name: [] for name in urls}
    for number in range(calls + 5):
        for name in urls:
            elapsed, status, body = connections[name].call("GET", f"/api/projects/{project_id}/board")
            cards = sum(len(column["tasks"]) for column in body["columns"]) if status == 200 else 0
            if cards != BOARD_TASKS:
                raise RuntimeError(f"board via {name}: {status}, {cards} cards")
            if number >= 5:
                timings[name].append(elapsed)
    return {name: latency_distribution(values) for name, values in timings.items()}


# --- Part 4: queries per request -----------------------------------------------------------------


def queries_per_request(env: dict[str, str], seeded: dict[str, Any]) -> dict[str, int]:
    """Counted in this process with Django's test client against the bench database."""
    os.environ.update({**env, "DJANGO_ALLOWED_HOSTS": "testserver"})
    for directory in (str(DJANGO_DIR), str(REPO_DIR)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {seeded['actor_access']}", HTTP_ACCEPT="application/json")
    counts = {}
    for path in ("/api/users/me", "/api/notifications", "/api/notifications/unread-count"):
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
        counts[path] = len(captured.captured_queries)
    connection.close()
    return counts


# --- Report --------------------------------------------------------------------------------------


def verdict(value: float | None, goal: float) -> str:
    return "-" if value is None else ("met" if value <= goal else "NOT met")


def print_report(payload: dict[str, Any]) -> None:
    print("")
    print("Single requests through nginx, one at a time (ms; real beside the bare view, same run)")
    for label, goal_key in (("GET /api/users/me", "me_p50"), ("GET /api/tasks?project=<empty>", "empty_list_p50")):
        real, bare = payload["single"][label]["real"], payload["single"][label]["bare"]
        goal = GOALS_MS[goal_key]
        print(
            f"  {label:<32} p50 {real['p50_ms']:6.2f} p99 {real['p99_ms']:6.2f} | bare p50 {bare['p50_ms']:6.2f} "
            f"p99 {bare['p99_ms']:6.2f} | real/bare p50 {real['p50_ms'] / bare['p50_ms']:.2f}x | "
            f"goal p50 <= {goal:g} ms: {verdict(real['p50_ms'], goal)}"
        )
    print("")
    print(f"Writes through nginx at {payload['rate']:g}/s, open loop (ms)")
    for name, rounds in payload["writes"].items():
        for number, result in enumerate(rounds, 1):
            latency = result["latency"] or {}
            line = (
                f"  {name + f' #{number}':<34} p50 {latency.get('p50_ms', 0):6.2f} p95 {latency.get('p95_ms', 0):6.2f} "
                f"p99 {latency.get('p99_ms', 0):6.2f} max {latency.get('max_ms', 0):7.2f} failed {result['failed']}"
                f" | CPU/write app {result['app_cpu_ms']:5.2f} db {result['db_cpu_ms']:5.2f}"
            )
            if name.startswith("POST /api/tasks"):
                line += (
                    f" | goal p50 <= {GOALS_MS['write_p50']:g}: {verdict(latency.get('p50_ms'), GOALS_MS['write_p50'])}"
                    f", p99 <= {GOALS_MS['write_p99']:g}: {verdict(latency.get('p99_ms'), GOALS_MS['write_p99'])}"
                )
            print(line)
    print("")
    print(f"Board of {BOARD_TASKS} tasks, GET /api/projects/{{id}}/board (ms)")
    for name, latency in payload["board"].items():
        print(
            f"  {name:<34} p50 {latency['p50_ms']:6.2f} p99 {latency['p99_ms']:6.2f}"
            + (
                f" | goal < {GOALS_MS['board']:g} ms: {verdict(latency['p50_ms'], GOALS_MS['board'])}"
                if name == "direct"
                else ""
            )
        )
    print("")
    print("Queries per request (in process; the first is the authentication's user lookup)")
    for path, count in payload["queries"].items():
        print(f"  {path:<34} {count}")


# --- Run -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    bench_env = {
        "DJANGO_SETTINGS_MODULE": "bench.django_settings",
        "PYTHONPATH": os.pathsep.join([str(REPO_DIR), str(DJANGO_DIR)]),
    }
    ensure_jwt_keys()
    load = report_machine_load()
    with bench_stack(
        "requests",
        database_url=DATABASE_URL,
        redis_db=args.redis_db,
        user_id_start=USER_ID_START,
        extra_env=bench_env,
    ) as (stack, mail_sink):
        gateway = stack.gateways["single"].url
        direct = f"http://127.0.0.1:{stack.django_port}"
        django_pid = next(process.popen.pid for process in stack.processes if process.name == "django")
        seeded = seed(gateway, mail_sink)
        step(f"part 1: {args.requests} single requests per path through nginx, real and bare alternating")
        empty = seeded["empty_project"]
        single = sequential(
            gateway,
            seeded["actor_access"],
            {
                "GET /api/users/me": ("/api/users/me", "/api/bench/bare/me", "id"),
                "GET /api/tasks?project=<empty>": (
                    f"/api/tasks?project={empty}",
                    f"/api/bench/bare/project-tasks?project={empty}",
                    "count",
                ),
            },
            args.requests,
        )
        writes: dict[str, list[dict[str, Any]]] = {
            "POST /api/tasks (assignee)": [],
            "POST /bench/bare/tasks (bare)": [],
        }
        paths = {
            "POST /api/tasks (assignee)": "/api/tasks",
            "POST /bench/bare/tasks (bare)": "/api/bench/bare/tasks",
        }
        for number in range(args.rounds):
            order = list(paths) if number % 2 == 0 else list(reversed(paths))
            for name in order:
                step(f"part 2: {name} at {args.rate:g}/s for {args.duration:g} s, round {number + 1}/{args.rounds}")
                writes[name].append(write_round(gateway, seeded, args, paths[name], django_pid))
        step(f"part 3: the {BOARD_TASKS}-task board, {args.board_calls} loads straight to gunicorn and via nginx")
        board = board_loads(
            {"direct": direct, "via nginx": gateway},
            seeded["actor_access"],
            seeded["board_project"],
            args.board_calls,
        )
        step("part 4: queries per request, in this process")
        queries = queries_per_request({**stack.env(), **bench_env}, seeded)
    payload = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": round(load, 2)},
        "goals_ms": GOALS_MS,
        "single": single,
        "rate": args.rate,
        "writes": writes,
        "board": board,
        "queries": queries,
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
