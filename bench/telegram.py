"""Benchmark of Telegram pushes (`make bench`): how soon a committed event reaches Telegram, and
how fast a backlog drains under Telegram's limits. Figures are printed beside their goals and
written to bench/results/telegram.json, never asserted.

Real processes on this machine, loopback only: gunicorn (django-core on the `taskflow_bench`
database, recreated; 2 workers x 4 threads as the Procfile), the outbox relay as the Procfile
starts it (`manage.py outbox_relay`, its default interval), the bot (`python -m taskflow_bot`,
started by tests/telegram_bot/support.py) and, in this process, the tests' fake Bot API
(tests/telegram_bot/botapi.py), which stamps every call with time.monotonic(): one clock for
both ends. Redis: database 11 (`--redis-url`), flushed at the start.

1. **Latency, commit -> sendMessage.** One actor assigns tasks over HTTP, `POST /api/tasks
   {"project", "title", "assignee"}`, open loop at `--latency-rate` (50) events/s for `--duration`
   (20; quick 5) s after `--warmup` (2; quick 1) s, to linked assignees with Telegram on for
   task.assigned, one chat each (`--assignees`, default one per event, so a chat's message is
   that event's). The bot runs with TELEGRAM_PACING=false and TELEGRAM_RATE_GLOBAL=1000, so no
   limit binds. Latency = the fake API receiving the chat's sendMessage - the HTTP response
   returning (the write commits before it answers). Goal: p99 <= 1 s, none lost.
2. **Throughput under the pacing rules.** `--chats` (1000; quick 100) linked chats,
   `--events-per-chat` (2) assignments each, created back to back per chat in this process
   through tasks.services.task_create while no bot runs; once the relay has put every delivery
   on the stream, the bot starts with its defaults (TELEGRAM_PACING=true,
   TELEGRAM_RATE_PER_CHAT=1, TELEGRAM_RATE_GLOBAL=25) and drains the backlog. Figures from the
   fake API's timestamps: messages/s over the steady part (the middle 80 % of the messages),
   beside the 25/s ceiling; the most messages in any 1-second window (goal <= 25, +1 for timer
   jitter); the smallest gap between two messages to one chat (goal >= 1 s, less 50 ms of
   jitter). A backlog spread over many chats hardly tests the per-chat rule (the global queue
   spaces a chat's messages far apart), so a burst follows: `--burst-chats` (5) chats get
   `--burst-events` (4) assignments each at once, and their gaps are reported on their own.

    .venv/bin/python -m bench.telegram [--quick] [--part latency|pacing] [--latency-rate 50]
        [--duration 20] [--chats 1000] [--events-per-chat 2] [--log-dir DIR]
"""

import argparse
import contextlib
import gc
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import requests

from bench.common import (
    DJANGO_DIR,
    REPO_DIR,
    RESULTS_DIR,
    CpuMeter,
    access_token,
    bench_environment,
    ensure_jwt_keys,
    free_port,
    latency_distribution,
    log_tail,
    machine_info,
    migrate,
    recreate_database,
    report_machine_load,
    run_main,
    setup_django,
    start_gunicorn,
    step,
    stop_gunicorn,
    wait_for_health,
    write_results,
)

RESULTS_PATH = RESULTS_DIR / "telegram.json"
REDIS_URL = "redis://127.0.0.1:6379/11"
SERVICE_TOKEN = "bench-telegram-service-token-0123456789abcdef"
STREAM = "telegram:deliveries"
PASSWORD = "bench-Secret-pass-1"
# Chat ids of each group of people (positive: private chats).
LATENCY_CHATS = 7_100_000_000
PACING_CHATS = 7_200_000_000
BURST_CHATS = 7_300_000_000

GOAL_P99_MS = 1_000.0
RATE_GLOBAL = 25
RATE_PER_CHAT = 1
WINDOW_TOLERANCE = 1  # one message over in a 1-second window: timer jitter, not a broken limit
GAP_JITTER_S = 0.05
THROUGHPUT_SHARE = 0.9  # the steady rate counts as "at the ceiling" from 90 % of it
CLIENT_THREADS = 16
DRAIN_TIMEOUT_S = 20.0

# The bot's documented defaults, set explicitly: tests/telegram_bot/support.py shortens some of
# them for the tests (claim idle 2 s, retry backoff 0.2 s), and the bench measures the real ones.
BOT_DEFAULTS = {
    "TELEGRAM_RATE_PER_CHAT": str(RATE_PER_CHAT),
    "TELEGRAM_RATE_GLOBAL": str(RATE_GLOBAL),
    "TELEGRAM_PACING": "true",
    "TELEGRAM_MAX_ATTEMPTS": "5",
    "TELEGRAM_CLAIM_IDLE": "30",
    "TELEGRAM_RETRY_BACKOFF": "1",
    "BOT_HEALTH_GRACE": "30",
    "BOT_CORE_TIMEOUT": "5",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.telegram", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s of latency, 100 chats: a smoke run")
    parser.add_argument("--part", choices=["latency", "pacing"], help="run only part 1 (latency) or 2 (pacing)")
    parser.add_argument("--latency-rate", type=float, default=50.0, help="part 1: events per second (default 50)")
    parser.add_argument("--duration", type=float, default=None, help="part 1: measured seconds (default 20; quick 5)")
    parser.add_argument("--warmup", type=float, default=None, help="part 1: unmeasured seconds first (default 2)")
    parser.add_argument("--assignees", type=int, default=None, help="part 1: linked assignees (default one per event)")
    parser.add_argument("--chats", type=int, default=None, help="part 2: linked chats (default 1000; quick 100)")
    parser.add_argument("--events-per-chat", type=int, default=2, help="part 2: events per chat (default 2)")
    parser.add_argument("--burst-chats", type=int, default=5, help="part 2: chats of the burst (default 5)")
    parser.add_argument("--burst-events", type=int, default=4, help="part 2: events per burst chat (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as the Procfile)")
    parser.add_argument("--worker-threads", type=int, default=4, help="gthread threads per worker (default 4)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_TELEGRAM_REDIS_URL", REDIS_URL))
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where the JSON results go")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the processes' logs here")
    # `make bench BENCH_ARGS=...` hands the other benchmarks' options to this script too.
    for option in ("--connections", "--wrk-threads", "--tasks", "--rounds", "--writers", "--requests"):
        parser.add_argument(option, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 5.0 if args.quick else 20.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    if args.chats is None:
        args.chats = 100 if args.quick else 1_000
    args.events = round(args.latency_rate * (args.warmup + args.duration))
    if args.assignees is None:
        args.assignees = args.events
    counts = (args.assignees, args.chats, args.events_per_chat, args.workers, args.worker_threads, args.events)
    if min(counts) < 1 or min(args.burst_chats, args.burst_events) < 0:
        parser.error("counts must be at least 1 (the burst's at least 0)")
    if args.latency_rate <= 0 or args.duration <= 0 or args.warmup < 0:
        parser.error("--latency-rate and --duration must be positive, --warmup not negative")
    return args


# --- Processes -----------------------------------------------------------------------------------


def redis_flushed(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
        client.flushdb()
    except redis.RedisError as error:
        sys.exit(f"!! Redis is not reachable at {url} (`make services` starts it): {error}")
    finally:
        client.close()
    step(f"Redis at {url} flushed")


def start_relay(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The outbox relay as the Procfile runs it, on the bench database and Redis."""
    step("starting the outbox relay (manage.py outbox_relay)")
    with log_path.open("ab") as log:
        # Its own session: a Ctrl-C reaches only this script, which then stops the relay.
        return subprocess.Popen(
            [sys.executable, "manage.py", "outbox_relay"],
            cwd=DJANGO_DIR,
            env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], name: str) -> None:
    if process.poll() is not None:
        return
    step(f"stopping {name}")
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print(f"    !! {name} ignored SIGTERM for 15 s: killed", flush=True)
        process.kill()
        process.wait(timeout=5)


@dataclass
class Stack:
    server: subprocess.Popen[bytes]
    core_url: str
    redis_url: str
    log_dir: Path
    relay: subprocess.Popen[bytes]
    relay_log: Path


class Bot:
    """The real bot process on a fake Bot API that lives in this process."""

    def __init__(self, stack: Stack, label: str, extra_env: dict[str, str]) -> None:
        from tests.telegram_bot.botapi import FakeBotApi
        from tests.telegram_bot.support import start_bot

        self.label = label
        self.api = FakeBotApi().start()
        step(f"starting the bot ({label}; fake Bot API at {self.api.base_url})")
        try:
            self.process = start_bot(
                core_url=stack.core_url,
                service_token=SERVICE_TOKEN,
                redis_url=stack.redis_url,
                api_base=self.api.base_url,
                extra_env={**BOT_DEFAULTS, "LOG_LEVEL": "INFO", **extra_env},
                log_dir=stack.log_dir,
            )
        except AssertionError as error:  # start_bot's way of saying it did not come up
            self.api.stop()
            raise RuntimeError(f"the bot did not start ({label}): {error}") from None

    def stop(self) -> None:
        step(f"stopping the bot ({self.label})")
        try:
            code = self.process.stop(timeout=20)
            if code not in (0, None):
                print(f"    !! the bot exited with {code}; its log: {self.process.log_path}", flush=True)
        except AssertionError:
            print(f"    !! the bot ignored SIGTERM for 20 s: killed. Log: {self.process.log_path}", flush=True)
        finally:
            self.process.kill()
            self.api.stop()

    def check_alive(self) -> None:
        if not self.process.running:
            raise RuntimeError(f"the bot ({self.label}) exited:\n{self.process.log_tail()}")


@contextlib.contextmanager
def running_bot(stack: Stack, label: str, extra_env: dict[str, str]) -> Iterator[Bot]:
    bot = Bot(stack, label, extra_env)
    try:
        yield bot
    finally:
        bot.stop()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def deliveries_by_status(first_chat: int, count: int) -> dict[str, int]:
    from django.db.models import Count

    from telegram.models import TelegramDelivery

    rows = (
        TelegramDelivery.objects.filter(chat_id__gte=first_chat, chat_id__lt=first_chat + count)
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


# --- Data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    project_id: int
    user_ids: list[int]  # index i has chat first_chat + i
    first_chat: int


def seed_actor() -> int:
    from accounts.models import User

    actor = User.objects.create_user(email="tg-actor@bench.example.com", password=PASSWORD, name="Bench Actor")
    return actor.pk


def seed_people(actor_id: int, label: str, count: int, first_chat: int) -> People:
    """A project of the actor's with `count` members, each linked to chat first_chat + i with
    Telegram on for task.assigned (email off: no mail channel in the way)."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from notifications.models import NotificationPreference

    from accounts.models import User
    from projects.models import Membership, Project, Role

    password = make_password(PASSWORD)  # one hash for every seeded user
    with transaction.atomic():
        project = Project.objects.create(name=f"Telegram bench: {label}", created_by_id=actor_id)
        users = User.objects.bulk_create(
            [
                User(
                    email=f"tg-{label}-{n}@bench.example.com",
                    name=f"{label.title()} {n}",
                    password=password,
                    telegram_chat_id=first_chat + n,
                    has_notification_preferences=True,
                )
                for n in range(count)
            ],
            batch_size=1_000,
        )
        Membership.objects.bulk_create(
            [Membership(project=project, user_id=actor_id, role=Role.OWNER)]
            + [Membership(project=project, user=user, role=Role.MEMBER) for user in users],
            batch_size=1_000,
        )
        NotificationPreference.objects.bulk_create(
            [
                NotificationPreference(user=user, event_type="task.assigned", web=True, email=False, telegram=True)
                for user in users
            ],
            batch_size=1_000,
        )
    return People(project_id=project.pk, user_ids=[user.pk for user in users], first_chat=first_chat)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Figures -------------------------------------------------------------------------------------


def max_in_window(times: list[float], window: float = 1.0) -> tuple[int, float]:
    """The most timestamps in any half-open window [t, t + window), and where the first such
    window starts (seconds after the first timestamp)."""
    ordered = sorted(times)
    best = start = 0
    best_at = 0.0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - window:
            start += 1
        if end - start + 1 > best:
            best, best_at = end - start + 1, ordered[start] - ordered[0]
    return best, best_at


def smallest_gap(messages: list[dict[str, Any]]) -> float | None:
    """The smallest time between two consecutive messages to the same chat (None: no chat got two)."""
    by_chat: dict[int, list[float]] = defaultdict(list)
    for message in messages:
        by_chat[int(message["chat_id"])].append(float(message["at"]))
    gaps = [b - a for times in by_chat.values() for a, b in pairwise(sorted(times))]
    return min(gaps) if gaps else None


def steady_rate(times: list[float], share: float = 0.8) -> float | None:
    """Messages per second between the messages that start and end the middle `share` of them."""
    ordered = sorted(times)
    if len(ordered) < 10:
        return None
    cut = round(len(ordered) * (1 - share) / 2)
    first, last = cut, len(ordered) - 1 - cut
    span = ordered[last] - ordered[first]
    return (last - first) / span if span > 0 else None


# --- Part 1: latency -----------------------------------------------------------------------------


@dataclass
class Sent:
    number: int
    chat_id: int
    committed: float  # time.monotonic() when the response returned
    measured: bool


def assignment_load(
    core_url: str, token: str, people: People, args: argparse.Namespace, stopping: threading.Event
) -> tuple[list[Sent], list[str], float]:
    """Open loop: the main thread queues each event at its time, client threads send it at once.
    Returns what was sent (201), the failures, and the rate the schedule kept."""
    warm = round(args.latency_rate * args.warmup)
    sent: list[Sent] = []
    failures: list[str] = []
    lock = threading.Lock()
    work: queue.Queue[int | None] = queue.Queue()

    def client() -> None:
        session = requests.Session()
        session.trust_env = False  # loopback only, never through a proxy
        headers = {"Authorization": f"Bearer {token}"}
        while (number := work.get()) is not None and not stopping.is_set():
            index = number % len(people.user_ids)
            body = {"project": people.project_id, "title": f"Bench push {number}", "assignee": people.user_ids[index]}
            try:
                response = session.post(f"{core_url}/api/tasks", json=body, headers=headers, timeout=10)
                committed = time.monotonic()
            except requests.RequestException as error:
                with lock:
                    failures.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                if response.status_code == 201:
                    sent.append(Sent(number, people.first_chat + index, committed, number >= warm))
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, name=f"client-{n}", daemon=True) for n in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    begin = time.monotonic() + 0.1
    try:
        for number in range(args.events):
            delay = begin + number / args.latency_rate - time.monotonic()
            if delay > 0 and stopping.wait(delay):
                break
            work.put(number)
        kept = args.events / max(1e-9, time.monotonic() - begin)
    except BaseException:
        stopping.set()  # Ctrl-C: the clients drop what is queued
        raise
    finally:
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join(timeout=15)
    if work.qsize() > len(threads):
        print(f"    !! the clients fell behind: {work.qsize() - len(threads)} events still queued", flush=True)
    return sent, failures, kept


def match_messages(sent: list[Sent], messages: list[dict[str, Any]]) -> tuple[list[tuple[Sent, float]], int, int]:
    """Pairs each chat's k-th event with its k-th message: (event, arrival) pairs, the events
    without a message and the messages without an event."""
    arrivals: dict[int, list[float]] = defaultdict(list)
    for message in messages:
        arrivals[int(message["chat_id"])].append(float(message["at"]))
    events: dict[int, list[Sent]] = defaultdict(list)
    for item in sent:
        events[item.chat_id].append(item)
    pairs: list[tuple[Sent, float]] = []
    lost = extra = 0
    for chat, items in events.items():
        times = sorted(arrivals.pop(chat, []))
        items.sort(key=lambda item: item.committed)
        pairs += list(zip(items, times, strict=False))
        lost += max(0, len(items) - len(times))
        extra += max(0, len(times) - len(items))
    extra += sum(len(times) for times in arrivals.values())
    return pairs, lost, extra


def wait_for_messages(bot: Bot, chats: set[int], expected: int, timeout: float) -> list[dict[str, Any]]:
    """Waits until `expected` messages reached `chats` or `timeout` passed; those messages."""
    deadline = time.monotonic() + timeout
    while True:
        messages = [message for message in bot.api.sent() if message["chat_id"] in chats]
        if len(messages) >= expected or time.monotonic() > deadline:
            return messages
        bot.check_alive()
        time.sleep(0.25)


def run_latency(stack: Stack, actor_id: int, args: argparse.Namespace, stopping: threading.Event) -> dict[str, Any]:
    people = seed_people(actor_id, "latency", args.assignees, LATENCY_CHATS)
    analyze()
    token = access_token(actor_id)
    chats = {people.first_chat + n for n in range(len(people.user_ids))}
    extra_env = {"TELEGRAM_PACING": "false", "TELEGRAM_RATE_GLOBAL": "1000"}
    with running_bot(stack, "part 1: TELEGRAM_PACING=false, TELEGRAM_RATE_GLOBAL=1000", extra_env) as bot:
        step(
            f"part 1: {args.latency_rate:.0f} assignments/s over HTTP for {args.duration:.0f} s "
            f"(+{args.warmup:.0f} s warm-up) to {args.assignees} linked assignees"
        )
        assert bot.process.process is not None
        meter = CpuMeter(stack.server.pid, extra={"relay": stack.relay.pid, "bot": bot.process.process.pid})
        before, bench_before, wall_before = meter.snapshot(), time.process_time(), time.monotonic()
        sent, failures, kept = assignment_load(stack.core_url, token, people, args, stopping)
        loaded, wall_loaded = meter.snapshot(), time.monotonic()
        step(f"    {len(sent)} sent ({kept:.1f}/s kept), {len(failures)} failed; waiting for the last messages")
        if failures:
            print(f"    first failures: {failures[:3]}", flush=True)
        messages = wait_for_messages(bot, chats, len(sent), DRAIN_TIMEOUT_S)
        after, bench_after, wall_after = meter.snapshot(), time.process_time(), time.monotonic()
        pairs, lost, extra = match_messages(sent, messages)
    cpu = cpu_figures(before, after, bench_after - bench_before, len(sent))
    if cpu is not None and before and loaded:
        # How busy our processes kept the machine while the load ran (not while waiting at the end).
        busy = sum(CpuMeter.used(before, loaded, group) for group in ("app", "db", "relay", "bot"))
        cpu["busy_pct_during_load"] = round(100 * busy / ((wall_loaded - wall_before) * cpu_count()), 1)
        cpu["wall_s"] = round(wall_after - wall_before, 1)
    unknown = claimed_unknown(bot)
    latencies = [1_000 * (arrival - item.committed) for item, arrival in pairs if item.measured]
    result = {
        "rate": args.latency_rate,
        "rate_kept": round(kept, 1),
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "assignees": args.assignees,
        "sent": len(sent),
        "failed_requests": len(failures),
        "delivered": len(pairs),
        "lost": lost,
        "unexpected_messages": extra,
        "latency": latency_distribution(latencies, digits=1),
        "deliveries": deliveries_by_status(LATENCY_CHATS, args.assignees),
        "cpu": cpu,
        "claimed_unknown": unknown,
    }
    latency = result["latency"] or {}
    print(
        f"    p50 {latency.get('p50_ms', 0):.0f} ms, p99 {latency.get('p99_ms', 0):.0f} ms, "
        f"max {latency.get('max_ms', 0):.0f} ms; {len(pairs)}/{len(sent)} delivered, {extra} unexpected",
        flush=True,
    )
    if cpu:
        print(
            "    CPU per event: "
            + ", ".join(f"{name} {ms:.1f} ms" for name, ms in cpu["per_event_ms"].items())
            + f"; our processes kept the {cpu_count()} CPUs {cpu.get('busy_pct_during_load', 0):.0f} % busy",
            flush=True,
        )
    report_stuck(result["deliveries"], len(sent), unknown)
    return result


def cpu_figures(
    before: dict[str, dict[int, float]] | None,
    after: dict[str, dict[int, float]] | None,
    bench_cpu: float,
    events: int,
) -> dict[str, Any] | None:
    """CPU per event of each process group (the bench's own: the fake API and the clients)."""
    if not before or not after or not events:
        return None
    used = {group: CpuMeter.used(before, after, group) for group in ("app", "db", "relay", "bot")}
    used["bench"] = bench_cpu
    names = {"app": "gunicorn", "db": "postgres", "relay": "relay", "bot": "bot", "bench": "bench"}
    return {"per_event_ms": {names[group]: round(1_000 * seconds / events, 2) for group, seconds in used.items()}}


def claimed_unknown(bot: Bot) -> int:
    """Stream entries django-core answered `skip unknown` to (the bot logs each batch): a
    delivery claimed before the transaction that created it committed stays queued."""
    return sum(int(n) for n in re.findall(r"skip unknown (\d+)", bot.process.log()))


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def report_stuck(statuses: dict[str, int], sent: int, unknown: int) -> None:
    """Says where deliveries that did not arrive are (django-core's rows)."""
    if statuses.get("sent", 0) < sent:
        print(f"    !! deliveries by status: {statuses} (of {sent} events)", flush=True)
    if unknown:
        print(
            f"    !! django-core answered `skip unknown` to {unknown} claim(s) (bot log: 'Push batch of ...: "
            "skip unknown'): the bot read the stream entry before the relay's transaction creating the "
            "delivery committed; the row stays queued until beat's sweep requeues it (TELEGRAM_REQUEUE_AFTER)",
            flush=True,
        )


# --- Part 2: pacing ------------------------------------------------------------------------------


def create_assignments(actor_id: int, people: People, per_chat: int, label: str) -> tuple[int, float]:
    """per_chat assignments to each person, back to back per person, through task_create (the
    API's service). Returns how many and the rate."""
    from accounts.models import User
    from projects.models import Project
    from tasks.services import task_create

    actor = User.objects.get(pk=actor_id)
    project = Project.objects.get(pk=people.project_id)
    assignees = User.objects.in_bulk(people.user_ids)
    started = time.monotonic()
    count = 0
    for user_id in people.user_ids:
        for k in range(per_chat):
            task_create(actor=actor, project=project, title=f"{label} {user_id}.{k}", assignee=assignees[user_id])
            count += 1
    return count, count / max(1e-9, time.monotonic() - started)


def wait_for_handoff(stack: Stack, first_chat: int, chats: int, expected: int, timeout: float = 60.0) -> int:
    """Waits until the relay has created (and put on the stream) every delivery; how many."""
    deadline = time.monotonic() + timeout
    while True:
        created = sum(deliveries_by_status(first_chat, chats).values())
        if created >= expected or time.monotonic() > deadline:
            return created
        if stack.relay.poll() is not None:
            raise RuntimeError(f"the outbox relay exited:\n{log_tail(stack.relay_log)}")
        time.sleep(0.2)


def pacing_figures(messages: list[dict[str, Any]]) -> dict[str, Any]:
    times = [float(message["at"]) for message in messages]
    gap = smallest_gap(messages)
    rate = steady_rate(times)
    window, window_at = max_in_window(times) if times else (0, 0.0)
    ordered = sorted(times)
    gaps = [b - a for a, b in pairwise(ordered)]
    return {
        "messages": len(messages),
        "span_s": round(max(times) - min(times), 2) if times else None,
        "steady_messages_per_s": None if rate is None else round(rate, 2),
        "max_in_1s_window": window,
        "max_window_starts_after_s": round(window_at, 3),
        # Bunching: two sends closer than a tenth of the global interval (40 ms at 25/s).
        "min_gap_any_two_ms": round(1_000 * min(gaps), 1) if gaps else None,
        "gaps_under_4ms": sum(1 for gap in gaps if gap < 0.1 / RATE_GLOBAL),
        "min_gap_per_chat_s": None if gap is None else round(gap, 3),
    }


def run_pacing(stack: Stack, actor_id: int, args: argparse.Namespace) -> dict[str, Any]:
    backlog = seed_people(actor_id, "pacing", args.chats, PACING_CHATS)
    burst = seed_people(actor_id, "burst", args.burst_chats, BURST_CHATS) if args.burst_chats else None
    analyze()
    step(f"part 2: {args.events_per_chat} assignment(s) to each of {args.chats} chats, in process (no bot running)")
    created, creation_rate = create_assignments(actor_id, backlog, args.events_per_chat, "Backlog")
    print(f"    {created} created ({creation_rate:.0f}/s)", flush=True)
    handed = wait_for_handoff(stack, PACING_CHATS, args.chats, created)
    step(f"    the relay put {handed} deliveries on the stream")
    expected_s = created / RATE_GLOBAL
    # The fake API's timestamps are taken in this process: a garbage collection pass over the
    # objects seeding left behind would hold its thread back and bunch the arrivals it stamps.
    gc.collect()
    gc.freeze()
    with paused_gc(), running_bot(stack, "part 2: the defaults, per chat 1/s, global 25/s", {}) as bot:
        started = time.monotonic()
        step(f"part 2: draining the backlog (about {expected_s:.0f} s at {RATE_GLOBAL}/s)")
        chats = {PACING_CHATS + n for n in range(args.chats)}
        messages = wait_for_messages(bot, chats, created, expected_s * 2 + 30)
        drained_s = time.monotonic() - started
        backlog_figures = pacing_figures(messages)
        rate = backlog_figures["steady_messages_per_s"]
        print(
            f"    {len(messages)}/{created} messages in {drained_s:.1f} s; steady {rate or 0:.2f}/s, "
            f"at most {backlog_figures['max_in_1s_window']} in 1 s (from "
            f"{backlog_figures['max_window_starts_after_s']:.1f} s; closest two sends "
            f"{backlog_figures['min_gap_any_two_ms']} ms apart), smallest gap to one chat "
            f"{backlog_figures['min_gap_per_chat_s']} s",
            flush=True,
        )
        burst_result: dict[str, Any] | None = None
        if burst is not None and args.burst_events:
            step(f"part 2: burst of {args.burst_events} assignments to each of {args.burst_chats} chats")
            burst_created, _ = create_assignments(actor_id, burst, args.burst_events, "Burst")
            burst_chats = {BURST_CHATS + n for n in range(args.burst_chats)}
            timeout = args.burst_events / RATE_PER_CHAT + 30
            burst_messages = wait_for_messages(bot, burst_chats, burst_created, timeout)
            burst_result = {"sent": burst_created, **pacing_figures(burst_messages)}
            burst_result["messages_per_chat"] = sorted(
                sum(1 for m in burst_messages if m["chat_id"] == chat) for chat in burst_chats
            )
            print(
                f"    {len(burst_messages)}/{burst_created} messages; smallest gap to one chat "
                f"{burst_result['min_gap_per_chat_s']} s",
                flush=True,
            )
        all_messages = bot.api.sent()
        unknown = claimed_unknown(bot)
    report_stuck(deliveries_by_status(PACING_CHATS, args.chats), created, unknown)
    if burst_result is not None:
        burst_result["deliveries"] = deliveries_by_status(BURST_CHATS, args.burst_chats)
        report_stuck(burst_result["deliveries"], burst_result["sent"], 0)
    per_chat: dict[int, int] = defaultdict(int)
    for message in messages:
        per_chat[int(message["chat_id"])] += 1
    return {
        "chats": args.chats,
        "events_per_chat": args.events_per_chat,
        "sent": created,
        "creation_rate": round(creation_rate, 1),
        "handed_to_stream": handed,
        "delivered": len(messages),
        "lost": sum(max(0, args.events_per_chat - per_chat.get(chat, 0)) for chat in chats),
        "duplicates": sum(max(0, n - args.events_per_chat) for n in per_chat.values()),
        "drain_s": round(drained_s, 1),
        "backlog": backlog_figures,
        "burst": burst_result,
        "all": {
            "max_in_1s_window": max_in_window([float(m["at"]) for m in all_messages])[0] if all_messages else 0,
            "min_gap_per_chat_s": smallest_gap(all_messages),
        },
        "deliveries": deliveries_by_status(PACING_CHATS, args.chats),
        "claimed_unknown": unknown,
    }


# --- Report --------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "NOT MET")


def figure_rows(latency: dict[str, Any] | None, pacing: dict[str, Any] | None) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    if latency is not None:
        dist = latency["latency"] or {}
        title = f"1. commit -> sendMessage, {latency['rate']:.0f}/s for {latency['duration_s']:.0f} s, pacing off"
        rows.append((title, "", "", ""))
        rows.append(("  p50", f"{dist.get('p50_ms', 0):.0f} ms", "", ""))
        p99 = dist.get("p99_ms")
        rows.append(
            (
                "  p99",
                "-" if p99 is None else f"{p99:.0f} ms",
                f"<= {GOAL_P99_MS:.0f} ms",
                verdict(None if p99 is None else p99 <= GOAL_P99_MS),
            )
        )
        rows.append(("  max", f"{dist.get('max_ms', 0):.0f} ms", "", ""))
        rows.append(
            (
                "  sent / delivered",
                f"{latency['sent']} / {latency['delivered']}",
                "none lost",
                verdict(latency["lost"] == 0 and latency["failed_requests"] == 0),
            )
        )
        rows.append(
            (
                "  claims answered `unknown`",
                str(latency["claimed_unknown"]),
                "0",
                verdict(latency["claimed_unknown"] == 0),
            )
        )
        rows.append(("  rate kept by the client", f"{latency['rate_kept']:.1f}/s", f"{latency['rate']:.0f}/s", ""))
    if pacing is not None:
        backlog = pacing["backlog"]
        title = f"2. backlog of {pacing['sent']} ({pacing['chats']} chats x {pacing['events_per_chat']}), defaults"
        rows.append((title, "", "", ""))
        rate = backlog["steady_messages_per_s"]
        rows.append(
            (
                "  messages/s, steady part",
                "-" if rate is None else f"{rate:.2f}/s",
                f"ceiling {RATE_GLOBAL}/s (>= {THROUGHPUT_SHARE * RATE_GLOBAL:.1f})",
                verdict(None if rate is None else rate >= THROUGHPUT_SHARE * RATE_GLOBAL),
            )
        )
        window = pacing["all"]["max_in_1s_window"]
        rows.append(
            (
                "  most messages in 1 s",
                str(window),
                f"<= {RATE_GLOBAL} (+{WINDOW_TOLERANCE})",
                verdict(window <= RATE_GLOBAL + WINDOW_TOLERANCE),
            )
        )
        goal_gap = 1 / RATE_PER_CHAT - GAP_JITTER_S
        for label, figures in (("backlog", backlog), ("burst", pacing["burst"])):
            if figures is None:
                continue
            gap = figures["min_gap_per_chat_s"]
            rows.append(
                (
                    f"  smallest gap to one chat ({label})",
                    "- (no chat got two)" if gap is None else f"{gap:.3f} s",
                    f">= {goal_gap:.2f} s",
                    verdict(None if gap is None else gap >= goal_gap),
                )
            )
        rows.append(
            (
                "  sent / delivered / duplicates",
                f"{pacing['sent']} / {pacing['delivered']} / {pacing['duplicates']}",
                "none lost, none twice",
                verdict(pacing["lost"] == 0 and pacing["duplicates"] == 0),
            )
        )
        burst = pacing["burst"]
        if burst is not None:
            rows.append(
                (
                    "  burst sent / delivered",
                    f"{burst['sent']} / {burst['messages']}",
                    "none lost",
                    verdict(burst["messages"] == burst["sent"]),
                )
            )
        rows.append(
            (
                "  claims answered `unknown`",
                str(pacing["claimed_unknown"]),
                "0",
                verdict(pacing["claimed_unknown"] == 0),
            )
        )
        rows.append(
            ("  backlog drained in", f"{pacing['drain_s']:.1f} s", f"~{pacing['sent'] / RATE_GLOBAL:.0f} s", "")
        )
    return rows


def print_report(rows: list[tuple[str, str, str, str]]) -> None:
    figures = [row for row in rows if row[1] or row[2]]
    header = ("figure", "measured", "goal", "")
    widths = [max(len(row[i]) for row in [header, *figures]) for i in range(3)]
    print("")
    print("Telegram pushes (figures, not assertions)")
    print(f"  {header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:<{widths[2]}}  met")
    for figure, measured, goal, met in rows:
        if not measured and not goal:
            print(f"  {figure}")
            continue
        print(f"  {figure:<{widths[0]}}  {measured:>{widths[1]}}  {goal:<{widths[2]}}  {met}")


# --- Run -----------------------------------------------------------------------------------------


def stack_environment(args: argparse.Namespace) -> dict[str, str]:
    """django-core's side (gunicorn, the relay, this process): the bench database and Redis."""
    return {
        **bench_environment(args),
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "TELEGRAM_SERVICE_TOKEN": SERVICE_TOKEN,
        "TELEGRAM_STREAM": STREAM,
        "TELEGRAM_CLAIM_LEASE": "60",
        "TELEGRAM_REQUEUE_AFTER": "600",
        "TELEGRAM_DELIVERY_MAX_AGE": "86400",
        "PUBLIC_URL": "http://127.0.0.1:8080",
    }


def run(args: argparse.Namespace, stopping: threading.Event) -> int:
    if str(REPO_DIR) not in sys.path:
        sys.path.insert(0, str(REPO_DIR))
    ensure_jwt_keys()
    env = stack_environment(args)
    os.environ.update(env)
    load = report_machine_load()
    redis_flushed(args.redis_url)
    recreate_database()
    setup_django()
    migrate()
    from django.conf import settings

    actor_id = seed_actor()
    latency = pacing = None
    with contextlib.ExitStack() as cleanup:
        if args.log_dir is not None:
            args.log_dir.mkdir(parents=True, exist_ok=True)
            log_dir = args.log_dir
        else:
            log_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="taskflow-bench-telegram-")))
        port = free_port()
        gunicorn_log = log_dir / "gunicorn.log"
        server = start_gunicorn(args, port, env, gunicorn_log, label="django-core")
        cleanup.callback(stop_gunicorn, server, "django-core")
        core_url = f"http://127.0.0.1:{port}"
        wait_for_health(core_url, server, gunicorn_log)
        relay_log = log_dir / "outbox-relay.log"
        relay = start_relay(env, relay_log)
        cleanup.callback(stop_process, relay, "the outbox relay")
        stack = Stack(
            server=server,
            core_url=core_url,
            redis_url=args.redis_url,
            log_dir=log_dir,
            relay=relay,
            relay_log=relay_log,
        )
        print(
            f"    relay every {settings.OUTBOX_RELAY_INTERVAL:.1f} s; logs in {log_dir}"
            + ("" if args.log_dir else " (removed at the end; --log-dir keeps them)"),
            flush=True,
        )
        try:
            if args.part in (None, "latency"):
                latency = run_latency(stack, actor_id, args, stopping)
            if args.part in (None, "pacing"):
                pacing = run_pacing(stack, actor_id, args)
        finally:
            if relay.poll() is not None:
                print(f"    !! the outbox relay exited with {relay.returncode}:\n{log_tail(relay_log)}", flush=True)
            with contextlib.suppress(OSError):
                errors = [line for line in gunicorn_log.read_text(errors="replace").splitlines() if "Error" in line]
                if errors:
                    print(f"    !! gunicorn logged {len(errors)} error line(s), e.g. {errors[:3]}", flush=True)
    payload = {
        "machine": {**machine_info(None, load)},
        "settings": {
            "gunicorn": f"{args.workers} workers x {args.worker_threads} threads",
            "relay_interval_s": settings.OUTBOX_RELAY_INTERVAL,
            "bot_defaults": BOT_DEFAULTS,
            "redis_url": args.redis_url,
        },
        "goals": {
            "latency_p99_ms": GOAL_P99_MS,
            "max_in_1s_window": RATE_GLOBAL + WINDOW_TOLERANCE,
            "min_gap_per_chat_s": 1 / RATE_PER_CHAT - GAP_JITTER_S,
            "steady_messages_per_s": THROUGHPUT_SHARE * RATE_GLOBAL,
        },
        "latency": latency,
        "pacing": pacing,
    }
    print_report(figure_rows(latency, pacing))
    write_results(args.output, payload)
    return 0


def _close_database_connections() -> None:
    with contextlib.suppress(Exception):
        from django.db import connections

        connections.close_all()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stopping = threading.Event()

    def cleanup() -> None:
        stopping.set()
        _close_database_connections()

    return run_main(lambda: run(args, stopping), cleanup=cleanup)


if __name__ == "__main__":
    sys.exit(main())
