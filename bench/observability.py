"""What logging and metrics cost per request (`make bench`; issue 19's goal: at most 3 % of a
request's CPU).

Two gunicorns of the same code on the same seeded database, side by side in one run:

- `on`: JSON log lines at INFO (one access line per request, written to a file as a collector
  would read it), request metrics (requests, latency, database queries per route) in
  prometheus-client's multiprocess mode, the request id, and /internal/metrics scraped every
  second during the load, as Prometheus would (more often than it usually does);
- `off`: METRICS_ENABLED=false and LOG_LEVEL=WARNING: no access line, no metrics.

`GET /api/tasks` (a page of 50) and `POST /api/tasks` (a task, its event and outbox row) under
wrk, on and off alternating round after round, so other work on the machine hits both alike.
What is compared is gunicorn's CPU time per request (from /proc), which moves less with the
machine's load than requests/s, but on a busy machine still by more than the few percent looked
for. So the observability path alone is also timed in a child process (bench.observability_micro:
the middleware, the JSON access line written to a file, the metrics in multiprocess mode, around
a view that does nothing) and set against the request's CPU measured here. Figures are printed,
never asserted.

    .venv/bin/python -m bench.observability [--quick] [--rounds 3] [--duration 10]
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from bench.common import (
    RESULTS_DIR,
    CpuMeter,
    Result,
    access_token,
    add_load_arguments,
    check_load_arguments,
    free_port,
    log_tail,
    machine_info,
    run_main,
    start_gunicorn,
    step,
    stop_gunicorn,
    wait_for_health,
    write_results,
    wrk_bench_prepare,
)
from bench.django_api import SCENARIOS, run_scenario

RESULTS_PATH = RESULTS_DIR / "observability.json"
GOAL_PERCENT = 3.0
VARIANTS = {
    "on": {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "METRICS_ENABLED": "true"},
    "off": {"LOG_FORMAT": "json", "LOG_LEVEL": "WARNING", "METRICS_ENABLED": "false"},
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.observability", description=__doc__.split("\n\n")[0])
    add_load_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="on/off pairs per request kind (default 3)")
    parser.add_argument("--tasks", type=int, default=2_000, help="tasks visible to the bench user (default 2000)")
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 1 s warm-up: a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    args = parser.parse_args(argv)
    check_load_arguments(parser, args, args.rounds, args.tasks)
    return args


class Scraper:
    """Scrapes a metrics endpoint every second while the load runs (what Prometheus adds)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.scrapes = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=5) as answer:  # noqa: S310
                answer.read()
                self.scrapes += 1

    def __enter__(self) -> "Scraper":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args))


def run(args: argparse.Namespace) -> int:
    wrk, env, seeded = wrk_bench_prepare(args)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    runs: dict[str, list[Result]] = {}
    scrapes = 0
    with tempfile.TemporaryDirectory(prefix="taskflow-bench-observability-") as tmp:
        workdir = Path(tmp)
        try:
            urls = {}
            for variant, overrides in VARIANTS.items():
                port = free_port()
                urls[variant] = f"http://127.0.0.1:{port}"
                servers[variant] = start_gunicorn(args, port, {**env, **overrides}, workdir / f"{variant}.log", variant)
                wait_for_health(urls[variant], servers[variant], workdir / f"{variant}.log")
            meters = {variant: CpuMeter(server.pid) for variant, server in servers.items()}
            for scenario in (SCENARIOS[0], SCENARIOS[2]):  # the real GET and POST
                for number in range(1, args.rounds + 1):
                    for variant in ("on", "off") if number % 2 else ("off", "on"):
                        label = f" ({variant}, round {number}/{args.rounds})"
                        token = access_token(seeded.user_id)
                        scraper = Scraper(f"{urls['on']}/internal/metrics") if variant == "on" else None
                        with scraper or contextlib.nullcontext():
                            result = run_scenario(
                                wrk, args, urls[variant], scenario, token, seeded, workdir, meters[variant], label
                            )
                        scrapes += scraper.scrapes if scraper else 0
                        runs.setdefault(f"{scenario.key}_{variant}", []).append(result)
                        if servers[variant].poll() is not None:
                            raise RuntimeError(f"gunicorn ({variant}) exited:\n{log_tail(workdir / f'{variant}.log')}")
            lines = sum(1 for _ in (workdir / "on.log").open("rb"))
        except RuntimeError as error:
            print(f"!! {error}", file=sys.stderr)
            return 1
        finally:
            for server in servers.values():
                stop_gunicorn(server)
            with contextlib.suppress(Exception):
                from django.db import connections

                connections.close_all()
    micro = observability_path_us(env)
    summary = report(runs, args, lines=lines, scrapes=scrapes, micro=micro)
    write_results(
        args.output,
        {
            "benchmark": "observability",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": {"duration_s": args.duration, "rounds": args.rounds, "connections": args.connections},
            "machine": machine_info(wrk, args.load_before),
            "runs": {key: [asdict(result) for result in results] for key, results in runs.items()},
            "summary": summary,
        },
    )
    return 0


def observability_path_us(env: dict[str, str]) -> dict[str, float]:
    """CPU microseconds of one request's observability path, on and off (bench.observability_micro)."""
    step("timing the observability path alone (middleware, access line, metrics in multiprocess mode)")
    with tempfile.TemporaryDirectory(prefix="taskflow-bench-metrics-") as directory:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.observability_micro"],
            cwd=Path(__file__).resolve().parents[1] / "django-core",
            env={**os.environ, **env, "PROMETHEUS_MULTIPROC_DIR": directory},
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(
    runs: dict[str, list[Result]], args: argparse.Namespace, *, lines: int, scrapes: int, micro: dict[str, float]
) -> dict[str, object]:
    print()
    print(
        f"Logging + metrics cost per request: gunicorn CPU ms/request, median of {args.rounds} rounds, "
        f"{args.connections} connections, {args.duration:g} s each"
    )
    print(f"{'request':<18} {'off ms':>8} {'on ms':>8} {'cost ms':>8} {'cost %':>7}  {'off req/s':>9} {'on req/s':>9}")
    summary: dict[str, object] = {}
    for key, name in (("get_real", "GET /api/tasks"), ("post_real", "POST /api/tasks")):
        on, off = runs.get(f"{key}_on", []), runs.get(f"{key}_off", [])
        if not on or not off or any(result.app_cpu_ms is None for result in on + off):
            continue
        on_ms = median(result.app_cpu_ms for result in on)  # type: ignore[type-var]
        off_ms = median(result.app_cpu_ms for result in off)  # type: ignore[type-var]
        percent = 100 * (on_ms - off_ms) / off_ms
        on_rps = median(result.requests_per_s for result in on)
        off_rps = median(result.requests_per_s for result in off)
        verdict = "met" if percent <= GOAL_PERCENT else "NOT met"
        print(
            f"{name:<18} {off_ms:>8.3f} {on_ms:>8.3f} {on_ms - off_ms:>8.3f} {percent:>6.1f}%  "
            f"{off_rps:>9,.0f} {on_rps:>9,.0f}   (goal <= {GOAL_PERCENT:g} %: {verdict})"
        )
        path_percent = 100 * (micro["on"] - micro["off"]) / 1000 / off_ms
        print(
            f"{'':<18} observability path alone: {micro['on'] - micro['off']:.1f} us of {off_ms * 1000:,.0f} us "
            f"= {path_percent:.2f} % of the request's CPU   (goal <= {GOAL_PERCENT:g} %: "
            f"{'met' if path_percent <= GOAL_PERCENT else 'NOT met'})"
        )
        summary[key] = {
            "path_us": round(micro["on"] - micro["off"], 1),
            "path_percent": round(path_percent, 2),
            "off_cpu_ms": off_ms,
            "on_cpu_ms": on_ms,
            "cost_percent": round(percent, 2),
            "goal": GOAL_PERCENT,
        }
    print(f"({lines:,} log lines written by the `on` side; /internal/metrics scraped {scrapes} times during its load)")
    print()
    return summary


if __name__ == "__main__":
    sys.exit(main())
