"""What the HTTP benchmarks share: the bench database and its seed, gunicorn, wrk and its output,
CPU time per request read from /proc, and the command-line options `make bench` passes to each."""

import argparse
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parent.parent
DJANGO_DIR = REPO_DIR / "django-core"
KEYS_DIR = REPO_DIR / "var" / "keys"
RESULTS_DIR = REPO_DIR / "bench" / "results"
# Recreated by each run of bench.django_api and bench.events: BENCH_DATABASE_URL names another one
# for a run beside them (two runs on one database end each other's connections).
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow_bench"
FOREIGN_TASKS = 1_000  # tasks of a project the bench user is not in: the membership filter must skip them


@dataclass
class Result:
    scenario: str
    label: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    # CPU time per request under load: gunicorn (master + workers), the database backends serving
    # the bench database, and wrk itself. None where /proc is not available.
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    wrk_cpu_ms: float | None = None
    # Other processes measured by name (bench.events: the outbox relay and the Redis server).
    extra_cpu_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Seeded:
    user_id: int
    project_ids: list[int]
    visible_tasks: int
    # Members of every bench project besides the bench user (the first owns projects 3 and 4).
    teammate_ids: list[int]


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


# --- Command line --------------------------------------------------------------------------------


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every HTTP benchmark takes (`make bench BENCH_ARGS=...` passes the same ones)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    parser.add_argument("--duration", type=float, default=None, help="seconds measured per scenario (default 10)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of unmeasured load first (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--workers", type=int, default=2 * cores, help=f"gunicorn workers (default 2 x cores = {2 * cores})"
    )
    parser.add_argument("--worker-threads", type=int, default=8, help="gthread threads per worker (default 8)")


def check_load_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace, *counts: int) -> None:
    """Rejects impossible counts and fills in the durations (`--quick` shortens them)."""
    if min(args.connections, args.wrk_threads, args.workers, args.worker_threads, *counts) < 1:
        parser.error("counts must be at least 1")
    if args.connections < args.wrk_threads:
        parser.error("wrk needs at least one connection per thread")
    if args.duration is None:
        args.duration = 3.0 if args.quick else 10.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0


# --- Preconditions -------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("!! wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y wrk`) and rerun.")
    step("installing wrk (apt-get install -y wrk)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("!! apt-get did not provide wrk; install it by hand and rerun.")
    return found


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    text = completed.stdout or completed.stderr
    return text.splitlines()[0] if text else ""


def ensure_jwt_keys() -> None:
    if (KEYS_DIR / "jwt_private.pem").is_file() and (KEYS_DIR / "jwt_public.pem").is_file():
        return
    subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "jwt_keys.py")], check=True)


def bench_environment(args: argparse.Namespace) -> dict[str, str]:
    """Variables for this process's Django and for gunicorn: the same for both."""
    return {
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "bench.django_settings",
        "DJANGO_ENV": "development",
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        # One pooled connection per thread at least, so no request waits for the pool.
        "DATABASE_POOL_MAX_SIZE": str(max(args.worker_threads, 10)),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), str(DJANGO_DIR), os.environ.get("PYTHONPATH")])),
    }


def report_machine_load() -> float:
    """The 1-minute load average before any load of ours: other work on the machine skews figures."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    step(f"machine load average {load:.2f} on {cores} cores")
    if load > 0.5:
        print("    !! the machine is busy with other work: figures will be lower and noisier than on an idle one")
    return load


def machine_info(wrk: str | None, load_before: float) -> dict[str, Any]:
    import django

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "python": platform.python_version(),
        "django": django.get_version(),
    }
    if wrk is not None:
        info["wrk"] = wrk_version(wrk)
    return info


def recreate_database() -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(DATABASE_URL).path.lstrip("/")
    admin_url = urlsplit(DATABASE_URL)._replace(path="/postgres").geturl()
    step(f"recreating database {name}")
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as error:
        sys.exit(f"!! PostgreSQL is not reachable at {admin_url} (`make services` starts it): {error}")


def setup_django() -> None:
    for directory in (str(DJANGO_DIR), str(REPO_DIR)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    step("applying migrations")
    call_command("migrate", interactive=False, verbosity=0)


# --- Data ----------------------------------------------------------------------------------------


def seed(task_count: int) -> Seeded:
    """A bench user in four projects holding `task_count` tasks (assignees, deadlines, some
    watched, some with a Russian title), teammates, and an outsider's project the user cannot see."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone, translation

    from accounts.models import User
    from projects.models import Membership, Project, Role
    from tasks.models import Task, TaskPriority, TaskStatus, TaskWatcher

    rng = random.Random(20_240_601)
    now = timezone.now()
    password = make_password("bench-password")  # one hash for every seeded user

    def task(project: Any, number: int, people: list[Any], reporter: Any) -> Any:
        status = rng.choice(TaskStatus.values)
        item = Task(
            project=project,
            title=f"Task {number}: {rng.choice(['Fix', 'Write', 'Review', 'Ship', 'Plan'])} the "
            f"{rng.choice(['login page', 'invoice export', 'search', 'onboarding mail', 'API docs'])}",
            description=" ".join(rng.choices(["Lorem", "ipsum", "dolor", "sit", "amet", "tempor"], k=24)),
            status=status,
            priority=rng.choice(TaskPriority.values),
            assignee=rng.choice([*people, None]),
            reporter=reporter,
            deadline=now + timedelta(days=rng.randint(-30, 60), hours=rng.randint(0, 23))
            if rng.random() < 0.7
            else None,
            completed_at=now if status == TaskStatus.DONE else None,
        )
        if number % 3 == 0:
            item.title_ru = f"Задача {number}"
        return item

    step(f"seeding {task_count} tasks")
    with translation.override("en"), transaction.atomic():
        user = User.objects.create(email="bench@example.com", name="Bench User", password=password)
        teammates = User.objects.bulk_create(
            [User(email=f"teammate{n}@example.com", name=f"Teammate {n}", password=password) for n in range(1, 6)]
        )
        outsider = User.objects.create(email="outsider@example.com", name="Outsider", password=password)
        projects = Project.objects.bulk_create(
            [Project(name=f"Bench project {n}", created_by=user) for n in range(1, 5)]
        )
        foreign = Project.objects.create(name="Someone else's project", created_by=outsider)
        memberships = [Membership(project=foreign, user=outsider, role=Role.OWNER)]
        for index, project in enumerate(projects):
            # Owner of two projects, plain member of the other two (a teammate owns those).
            memberships.append(Membership(project=project, user=user, role=Role.OWNER if index < 2 else Role.MEMBER))
            for position, teammate in enumerate(teammates):
                owns = index >= 2 and position == 0
                memberships.append(Membership(project=project, user=teammate, role=Role.OWNER if owns else Role.MEMBER))
        Membership.objects.bulk_create(memberships)
        people = [user, *teammates]
        visible = Task.objects.bulk_create(
            [task(projects[n % len(projects)], n, people, rng.choice(people)) for n in range(1, task_count + 1)],
            batch_size=1_000,
        )
        Task.objects.bulk_create(
            [task(foreign, n, [outsider], outsider) for n in range(1, FOREIGN_TASKS + 1)], batch_size=1_000
        )
        TaskWatcher.objects.bulk_create([TaskWatcher(task=item, user=user) for item in visible[::4]])
        with connection.cursor() as cursor:
            # auto_now_add stamps every row with the same instant; spread them as a real history.
            cursor.execute(
                "UPDATE tasks_task SET created_at = now() - id * interval '7 minutes', "
                "updated_at = now() - id * interval '3 minutes'"
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Seeded(
        user_id=user.pk,
        project_ids=[project.pk for project in projects],
        visible_tasks=task_count,
        teammate_ids=[teammate.pk for teammate in teammates],
    )


def access_token(user_id: int) -> str:
    """A fresh access token: each scenario gets one, so none expires mid-run."""
    from accounts.models import User
    from accounts.services import token_pair_for

    return token_pair_for(User.objects.get(pk=user_id)).access


# --- Server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    args: argparse.Namespace, port: int, env: dict[str, str], log_path: Path, label: str = ""
) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [
        str(gunicorn if gunicorn.exists() else shutil.which("gunicorn") or "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(args.worker_threads),
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    step(
        f"starting gunicorn{f' ({label})' if label else ''} on 127.0.0.1:{port} "
        f"({args.workers} workers x {args.worker_threads} threads, gthread)"
    )
    with log_path.open("wb") as log:
        # Its own session: a Ctrl-C reaches only this script, which then stops gunicorn itself.
        return subprocess.Popen(
            command,
            cwd=DJANGO_DIR,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_gunicorn(server: subprocess.Popen[bytes], label: str = "") -> None:
    if server.poll() is not None:
        return
    step(f"stopping gunicorn{f' ({label})' if label else ''}")
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


def request_json(
    method: str, url: str, token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """One request to the local server: the status and the decoded JSON (or the raw text)."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        connection.request(method, target, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
    finally:
        connection.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def wait_for_health(base_url: str, server: subprocess.Popen[bytes], log_path: Path, timeout: float = 30.0) -> None:
    step("waiting for /api/health")
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log_tail(log_path)}")
        try:
            status, body = request_json("GET", f"{base_url}/api/health")
        except OSError as error:
            last = error
            time.sleep(0.2)
            continue
        if status == 200:
            return
        if isinstance(body, dict) and body.get("checks", {}).get("database") == "ok":
            print(f"    health answers {status} ({body['checks']}); the database is up, going on", flush=True)
            return
        last = (status, body)
        time.sleep(0.5)
    raise RuntimeError(f"/api/health did not answer 200 within {timeout:.0f} s (last: {last}):\n{log_tail(log_path)}")


def log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no gunicorn log)"


# --- CPU accounting ------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) a process on this machine has used so far, or None."""
    fields = _proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS if fields else None  # utime + stime


class CpuMeter:
    """CPU seconds used by gunicorn and by the PostgreSQL backends of the bench database between
    two snapshots: unlike wall-clock figures, these hardly move when other work shares the machine.
    `extra` names other processes measured beside them, each in its own group (bench.events: the
    outbox relay, the Redis server)."""

    def __init__(self, server_pid: int, extra: dict[str, int] | None = None) -> None:
        self.server_pid = server_pid
        self.extra = dict(extra or {})

    def _app_pids(self) -> list[int]:
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = _proc_stat(int(entry.name))
                if fields and int(fields[1]) == self.server_pid:
                    children.append(int(entry.name))
        return [self.server_pid, *children]

    @staticmethod
    def _database_pids() -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def snapshot(self) -> dict[str, dict[int, float]] | None:
        if not Path(f"/proc/{self.server_pid}/stat").exists():
            return None
        groups = {"app": self._app_pids(), "db": self._database_pids()}
        groups.update({name: [pid] for name, pid in self.extra.items()})
        return {
            group: {pid: cpu for pid in pids if (cpu := cpu_seconds(pid)) is not None} for group, pids in groups.items()
        }

    @staticmethod
    def used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]], group: str) -> float:
        """Seconds used in between; a process that appeared meanwhile counts from zero."""
        return sum(cpu - before[group].get(pid, 0.0) for pid, cpu in after[group].items())


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- Load ----------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1_000.0, "m": 60_000.0, "h": 3_600_000.0}


def _milliseconds(value: str, unit: str) -> float:
    return float(value) * _UNIT_MS[unit]


def parse_wrk(output: str, key: str, label: str) -> Result:
    def latency(percentile: str) -> float:
        match = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
        if not match:
            raise RuntimeError(f"no {percentile}% latency in wrk's output:\n{output}")
        return _milliseconds(match.group(1), match.group(2))

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    if not rate or not total:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Result(
        scenario=key,
        label=label,
        requests_per_s=float(rate.group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def run_wrk(wrk: str, args: argparse.Namespace, url: str, script: Path, seconds: float) -> str:
    command = [
        wrk,
        "--threads",
        str(args.wrk_threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "--script",
        str(script),
        url,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def measure(
    wrk: str,
    args: argparse.Namespace,
    url: str,
    script: Path,
    *,
    key: str,
    label: str,
    progress: str,
    meter: CpuMeter,
) -> Result:
    """Warm-up (unmeasured), then `args.duration` seconds of wrk with the CPU used meanwhile.
    Prints `progress` as the step line and a one-line summary."""
    if args.warmup > 0:
        run_wrk(wrk, args, url, script, args.warmup)
    step(progress)
    before, wrk_before = meter.snapshot(), _children_cpu_seconds()
    output = run_wrk(wrk, args, url, script, args.duration)
    after, wrk_after = meter.snapshot(), _children_cpu_seconds()
    result = parse_wrk(output, key, label)
    if result.requests:
        result.wrk_cpu_ms = round(1_000 * (wrk_after - wrk_before) / result.requests, 3)
        if before and after:
            result.app_cpu_ms = round(1_000 * CpuMeter.used(before, after, "app") / result.requests, 3)
            result.db_cpu_ms = round(1_000 * CpuMeter.used(before, after, "db") / result.requests, 3)
            result.extra_cpu_ms = {
                name: round(1_000 * CpuMeter.used(before, after, name) / result.requests, 3) for name in meter.extra
            }
    errors = result.non_2xx + result.socket_errors
    cpu = (
        f"; CPU per request: app {result.app_cpu_ms:.2f} ms, database {result.db_cpu_ms:.2f} ms, "
        + "".join(f"{name} {ms:.2f} ms, " for name, ms in result.extra_cpu_ms.items())
        + f"wrk {result.wrk_cpu_ms:.2f} ms"
        if result.app_cpu_ms is not None and result.db_cpu_ms is not None and result.wrk_cpu_ms is not None
        else ""
    )
    print(
        f"    {result.requests_per_s:,.0f} req/s, p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms{cpu}"
        + (f", {errors} errors" if errors else ""),
        flush=True,
    )
    return result


# --- Report --------------------------------------------------------------------------------------


def median_round(runs: list[Result]) -> Result:
    """The round with the median throughput (the lower middle one for an even count)."""
    return sorted(runs, key=lambda result: result.requests_per_s)[(len(runs) - 1) // 2]


def optional_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def latency_distribution(values: list[float], *, digits: int = 3) -> dict[str, float] | None:
    """p50/p95/p99/min/max (nearest rank) of latencies in milliseconds, and how many."""
    if not values:
        return None
    ordered = sorted(values)

    def percentile(share: float) -> float:
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]

    return {
        "p50_ms": round(percentile(0.50), digits),
        "p95_ms": round(percentile(0.95), digits),
        "p99_ms": round(percentile(0.99), digits),
        "max_ms": round(ordered[-1], digits),
        "min_ms": round(ordered[0], digits),
        "count": len(ordered),
    }


def display_path(path: Path) -> Path:
    return path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path


def write_results(path: Path, payload: dict[str, Any]) -> None:
    """Writes a bench's figures as JSON (bench/results/ is git-ignored) and says where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    step(f"results written to {display_path(path)}")


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_main(
    run: Callable[[], int], *, cleanup: Callable[[], None] | None = None, interrupted: str = "interrupted"
) -> int:
    """A bench's entry point: SIGTERM stops it like Ctrl-C (130), a RuntimeError is a clear
    message (1), and `cleanup` runs whatever happened."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return run()
    except KeyboardInterrupt:
        print(f"\n!! {interrupted}", file=sys.stderr)
        return 130
    except RuntimeError as error:
        print(f"!! {error}", file=sys.stderr)
        return 1
    finally:
        if cleanup is not None:
            cleanup()


def wrk_bench_prepare(args: argparse.Namespace) -> tuple[str, dict[str, str], "Seeded"]:
    """What the wrk benchmarks of the API do first: wrk and the keys found, the environment set,
    the bench database recreated, migrated and seeded with `args.tasks` tasks."""
    wrk = ensure_wrk()
    ensure_jwt_keys()
    env = bench_environment(args)
    os.environ.update(env)
    args.load_before = report_machine_load()
    recreate_database()
    setup_django()
    migrate()
    return wrk, env, seed(args.tasks)
