"""HTTP benchmark of the task API against its ceiling (`make bench`).

Measures requests/s and p50/p99 latency of `GET /api/tasks` (one page of 50, authenticated) and
`POST /api/tasks` under `wrk`, next to the same work done by bare Django views
(bench/django_urls.py) behind the same gunicorn, middleware and database. The goals: the real
GET reaches at least 0.85x the bare view's throughput (issue 17), the real POST 0.6x. Figures
are printed, never asserted.

The bare GET does the same database work as the real one (membership subquery, COUNT, one page of
50 with assignee, reporter and is_watching). The bare POST does the membership check and the
INSERT only: whatever the real POST does on top (a second role check, watchers, the event and its
outbox row, reading the task back) is what the POST ratio shows. Besides req/s and latency, the
CPU time per request of gunicorn and of the database backends is read from /proc: it says where
the time goes and, unlike req/s, hardly moves when other work shares the machine.

    .venv/bin/python -m bench.django_api [--quick] [--duration 10] [--connections 32]

Each run drops and recreates the `taskflow_bench` database, seeds it, and leaves it behind for
profiling. Results also go to bench/results/django_api.json.
"""

import argparse
import contextlib
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    RESULTS_DIR,
    CpuMeter,
    Result,
    Seeded,
    access_token,
    add_load_arguments,
    check_load_arguments,
    free_port,
    log_tail,
    machine_info,
    measure,
    median_round,
    optional_ms,
    request_json,
    run_main,
    start_gunicorn,
    step,
    stop_gunicorn,
    wait_for_health,
    write_results,
    wrk_bench_prepare,
)

RESULTS_PATH = RESULTS_DIR / "django_api.json"
# Real/bare throughput: GET a page of 50 at least 0.85x (issue 17), POST at least 0.6x.
GOAL_RATIOS = {"get": 0.85, "post": 0.60}
PAGE_SIZE = 50


@dataclass(frozen=True)
class Scenario:
    key: str
    method: str
    path: str
    variant: str  # "real" or "bare"

    @property
    def label(self) -> str:
        return f"{self.method} {self.path.split('?')[0]} ({self.variant})"


SCENARIOS = (
    Scenario("get_real", "GET", f"/api/tasks?page_size={PAGE_SIZE}", "real"),
    Scenario("get_bare", "GET", "/bench/bare/tasks", "bare"),
    # POSTs come last: the rows they add would otherwise change what the GETs count.
    Scenario("post_real", "POST", "/api/tasks", "real"),
    Scenario("post_bare", "POST", "/bench/bare/tasks", "bare"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.django_api", description=__doc__.split("\n\n")[0])
    add_load_arguments(parser)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each real/bare pair this many times, alternating, and report the median round (default 1)",
    )
    parser.add_argument("--only", choices=["get", "post"], help="run only the GET or only the POST pair")
    parser.add_argument("--tasks", type=int, default=5_000, help="tasks visible to the bench user (default 5000)")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    args = parser.parse_args(argv)
    check_load_arguments(parser, args, args.rounds, args.tasks)
    return args


# --- Load ----------------------------------------------------------------------------------------

POST_LUA = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local projects = {{{projects}}}
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{{"project": %d, "title": "Bench task %d", "description": "Created under load.", '
    .. '"priority": "high", "deadline": "2030-01-01T12:00:00Z"}}',
    projects[(counter % #projects) + 1], counter)
  return wrk.format(nil, nil, nil, body)
end
"""

GET_LUA = """
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Accept"] = "application/json"
"""


def post_body(project_id: int) -> dict[str, Any]:
    return {
        "project": project_id,
        "title": "Bench check",
        "description": "Created by the check.",
        "priority": "high",
        "deadline": "2030-01-01T12:00:00Z",
    }


def check_endpoints(base_url: str, token: str, seeded: Seeded) -> None:
    """Each endpoint answers as expected, and both GETs return the same page: otherwise the
    figures would compare different work."""
    status_real, real = request_json("GET", f"{base_url}{SCENARIOS[0].path}", token)
    status_bare, bare = request_json("GET", f"{base_url}{SCENARIOS[1].path}", token)
    if status_real != 200 or status_bare != 200:
        raise RuntimeError(
            f"GET check failed: real {status_real} {str(real)[:300]}, bare {status_bare} {str(bare)[:300]}"
        )
    real_ids = [row["id"] for row in real["results"]]
    bare_ids = [row["id"] for row in bare["results"]]
    if real["count"] != bare["count"] or real_ids != bare_ids or len(real_ids) != PAGE_SIZE:
        raise RuntimeError(
            f"real and bare GET differ: counts {real['count']}/{bare['count']}, ids {real_ids[:5]}…/{bare_ids[:5]}…"
        )
    step(f"check: real and bare GET return the same {len(real_ids)} tasks of {real['count']}")
    for scenario in SCENARIOS[2:]:
        status, body = request_json("POST", f"{base_url}{scenario.path}", token, post_body(seeded.project_ids[0]))
        if status != 201:
            raise RuntimeError(f"{scenario.label} check answered {status}: {str(body)[:300]}")
    step("check: real and bare POST answer 201")


def run_scenario(
    wrk: str,
    args: argparse.Namespace,
    base_url: str,
    scenario: Scenario,
    token: str,
    seeded: Seeded,
    workdir: Path,
    meter: CpuMeter,
    round_label: str = "",
) -> Result:
    script = workdir / f"{scenario.key}.lua"
    if scenario.method == "POST":
        script.write_text(POST_LUA.format(token=token, projects=", ".join(map(str, seeded.project_ids))))
    else:
        script.write_text(GET_LUA.format(token=token))
    return measure(
        wrk,
        args,
        f"{base_url}{scenario.path}",
        script,
        key=scenario.key,
        label=scenario.label,
        progress=f"{scenario.label} for {args.duration:g} s at {args.connections} connections{round_label}",
        meter=meter,
    )


# --- Report --------------------------------------------------------------------------------------


def ratios(results: dict[str, Result]) -> dict[str, dict[str, Any]]:
    out = {}
    for method in ("get", "post"):
        real, bare = results.get(f"{method}_real"), results.get(f"{method}_bare")
        if real and bare and bare.requests_per_s:
            ratio = real.requests_per_s / bare.requests_per_s
            goal = GOAL_RATIOS[method]
            out[method] = {"ratio": round(ratio, 3), "goal": goal, "met": ratio >= goal}
            if None not in (real.app_cpu_ms, real.db_cpu_ms, bare.app_cpu_ms, bare.db_cpu_ms):
                out[method]["real_cpu_ms"] = round(real.app_cpu_ms + real.db_cpu_ms, 2)  # type: ignore[operator]
                out[method]["bare_cpu_ms"] = round(bare.app_cpu_ms + bare.db_cpu_ms, 2)  # type: ignore[operator]
    return out


def print_table(results: dict[str, Result], summary: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    width = max(len(result.label) for result in results.values())
    print()
    print(
        f"TaskFlow HTTP API: {args.connections} connections, {args.duration:g} s per scenario, "
        f"gunicorn {args.workers} workers x {args.worker_threads} threads (gthread), wrk {args.wrk_threads} threads"
        + (f", median of {args.rounds} rounds" if args.rounds > 1 else "")
    )
    header = (
        f"{'scenario':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  "
        f"{'app CPU ms/req':>14}  {'db CPU ms/req':>13}  {'requests':>9}  {'errors':>6}"
    )
    print(header)
    print("-" * len(header))
    for result in results.values():
        print(
            f"{result.label:<{width}}  {result.requests_per_s:>9,.0f}  {result.p50_ms:>8.2f}  {result.p99_ms:>8.2f}  "
            f"{optional_ms(result.app_cpu_ms):>14}  {optional_ms(result.db_cpu_ms):>13}  "
            f"{result.requests:>9,}  {result.non_2xx + result.socket_errors:>6}"
        )
    print()
    for method, entry in summary.items():
        verdict = "met" if entry["met"] else "NOT met"
        goal = entry["goal"]
        print(f"{method.upper():<4} real/bare throughput: {entry['ratio']:.2f}x  (goal >= {goal:.2f}x: {verdict})")
        if "real_cpu_ms" in entry:
            real_cpu, bare_cpu = entry["real_cpu_ms"], entry["bare_cpu_ms"]
            print(f"     CPU per request (app + db): real {real_cpu:.1f} ms, bare {bare_cpu:.1f} ms")
    print()


def write_json(
    path: Path,
    wrk: str,
    args: argparse.Namespace,
    seeded: Seeded,
    results: dict[str, Result],
    rounds: dict[str, list[Result]],
    summary: Any,
) -> None:
    payload = {
        "benchmark": "django_api",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "wrk_threads": args.wrk_threads,
            "rounds": args.rounds,
            "gunicorn": {"workers": args.workers, "threads": args.worker_threads, "worker_class": "gthread"},
            "visible_tasks": seeded.visible_tasks,
            "page_size": PAGE_SIZE,
        },
        "machine": machine_info(wrk, args.load_before),
        "results": [asdict(result) for result in results.values()],
        "rounds": {key: [asdict(result) for result in runs] for key, runs in rounds.items()},
        "real_vs_bare": summary,
    }
    write_results(path, payload)


# --- Main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    wrk, env, seeded = wrk_bench_prepare(args)

    server: subprocess.Popen[bytes] | None = None
    rounds: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="taskflow-bench-") as tmp:
        workdir = Path(tmp)
        log_path = workdir / "gunicorn.log"
        try:
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            server = start_gunicorn(args, port, env, log_path)
            wait_for_health(base_url, server, log_path)
            check_endpoints(base_url, access_token(seeded.user_id), seeded)
            meter = CpuMeter(server.pid)
            # Real and bare alternate, so a burst of other work on the machine hits both alike.
            pairs = [pair for pair in (SCENARIOS[:2], SCENARIOS[2:]) if args.only in (None, pair[0].method.lower())]
            for pair in pairs:
                for number in range(1, args.rounds + 1):
                    round_label = f" (round {number}/{args.rounds})" if args.rounds > 1 else ""
                    for scenario in pair:
                        token = access_token(seeded.user_id)
                        rounds.setdefault(scenario.key, []).append(
                            run_scenario(wrk, args, base_url, scenario, token, seeded, workdir, meter, round_label)
                        )
                        if server.poll() is not None:
                            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log_tail(log_path)}")
        except RuntimeError as error:
            print(f"!! {error}", file=sys.stderr)
            return 1
        finally:
            if server is not None:
                stop_gunicorn(server)
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()

    results = {key: median_round(runs) for key, runs in rounds.items()}
    summary = ratios(results)
    print_table(results, summary, args)
    write_json(args.output, wrk, args, seeded, results, rounds, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
