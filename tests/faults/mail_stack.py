"""What the Celery fault tests (test_worker_*, test_broker_*, test_beat_*) start: a database of the
test's own (a copy of the fault suite's migrated template, tests/faults/support.py), the mail
sink, and, on demand, workers and beats of tests.e2e.stack against the test's own redis-server
(the broker). Writes go through django-core's services (tests/faults/mail_world.py, run by
`manage.py shell`): no gunicorn, no relay.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import DJANGO_DIR, REPO_DIR, Process, Stack, drop_database, free_port, start_user_ids_at
from tests.faults.engines import RedisServer
from tests.faults.support import copy_database, faults_database_url, migrated_template

T = TypeVar("T")
RESULT = "RESULT:"


def _run(command: list[str], env: dict[str, str], timeout: float = 120) -> str:
    completed = subprocess.run(
        command, cwd=DJANGO_DIR, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return completed.stdout


@dataclass
class MailStack:
    stack: Stack
    sink: MailSink
    broker: RedisServer

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    def django(self, code: str, **env: str) -> Any:
        """Runs `code` in django-core (`manage.py shell -c`) and returns what it printed after
        RESULT: (JSON)."""
        environment = self.stack.env(PYTHONPATH=str(REPO_DIR), **env)
        output = _run([sys.executable, "manage.py", "shell", "-c", code], environment)
        for line in reversed(output.splitlines()):
            if line.startswith(RESULT):
                return json.loads(line[len(RESULT) :])
        raise AssertionError(f"no result from django-core:\n{output[-2000:]}")

    def world(self, **arguments: Any) -> dict[str, Any]:
        """tests/faults/mail_world.assigned_task(**arguments)."""
        return self.django(f"from tests.faults.mail_world import assigned_task; assigned_task(**{arguments!r})")

    def query(self, statement: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def every_second(self, *jobs: str) -> None:
        """Beat's jobs `jobs` (names of config/schedules.py) run every second; all others are
        disabled. Before beat starts."""
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as connection:
            row = connection.execute(
                "INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id"
            ).fetchone()
            assert row is not None
            connection.execute("UPDATE django_celery_beat_periodictask SET enabled = false")
            updated = connection.execute(
                "UPDATE django_celery_beat_periodictask SET enabled = true, interval_id = %s, crontab_id = NULL,"
                " expire_seconds = NULL WHERE name = ANY(%s)",
                [row[0], list(jobs)],
            ).rowcount
            assert updated == len(jobs), f"not every job of {jobs} exists"

    def start_worker(self, *, name: str = "worker", concurrency: int = 1) -> Process:
        # Its metrics files in the test's directory: the worker is SIGKILLed at the end (quicker
        # than a warm shutdown), so its own clean-up of them never runs.
        metrics = self.stack.work_dir / f"{name}-metrics"
        metrics.mkdir(exist_ok=True)
        return self.stack.start_worker(name=name, concurrency=concurrency, PROMETHEUS_MULTIPROC_DIR=str(metrics))

    def start_beat(self, name: str = "beat") -> Process:
        return self.stack.start_beat(name=name)

    def wait(self, what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:g} s\n{self.stack.logs()}")
            time.sleep(0.05)


def pool_processes(worker: Process) -> list[int]:
    """The pids of the worker's pool processes (the children of its main process)."""
    assert worker.popen is not None
    pid = worker.popen.pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for child in children]


def kill_pool_process(worker: Process) -> int:
    """SIGKILLs the worker's only pool process (concurrency 1), as the OOM killer would."""
    children = pool_processes(worker)
    assert len(children) == 1, f"expected one pool process, found {children}"
    os.kill(children[0], signal.SIGKILL)
    return children[0]


@contextlib.contextmanager
def running_mail_stack(
    work_dir: Path, *, broker: RedisServer, suffix: str, user_id_start: int, **env: str
) -> Iterator[MailStack]:
    """A database copied from the suite's migrated template, the mail sink, and a Stack whose
    processes send mail to it through `broker`; everything stopped and dropped at the end."""
    url = faults_database_url(suffix)
    copy_database(migrated_template(), url)
    start_user_ids_at(url, user_id_start)
    sink = MailSink(free_port()).start()
    settings = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "CELERY_BROKER_URL": broker.url,
        "LOG_FORMAT": "console",
        **env,
    }
    stack = Stack(work_dir, url, broker.url, user_id_start, extra_env=settings)
    try:
        yield MailStack(stack, sink, broker)
    finally:
        for process in stack.processes:  # nothing of theirs needs a clean shutdown here
            process.stop(signal.SIGKILL)
        sink.stop()
        drop_database(url)
