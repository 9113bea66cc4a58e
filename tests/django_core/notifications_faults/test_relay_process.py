"""`manage.py outbox_relay` as the real, long-running process it is under `make run`."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from notifications.models import OutboxEvent

from tasks import services
from tasks.models import TaskWatcher
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import relay_passed, set_relay_watermark
from tests.django_core.notifications_faults.conftest import DEAD_REDIS_URL, DJANGO_CORE, redis_at, stream_event_ids
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class Relay:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log_path = log

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, f"the relay exited early:\n{self.log()}"
            assert time.monotonic() < deadline, f"{text!r} never logged:\n{self.log()}"
            time.sleep(0.05)


@pytest.fixture
def start_relay(child_env, tmp_path) -> Iterator[Callable[..., Relay]]:
    """Starts `manage.py outbox_relay` against the test database and Redis; always stopped after."""
    started: list[Relay] = []

    def start(*args: str, **env: str) -> Relay:
        log = tmp_path / f"relay-{len(started)}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "outbox_relay", *args],
                cwd=DJANGO_CORE,
                env=child_env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        relay = Relay(process, log)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        if relay.process.poll() is None:
            relay.process.kill()
            relay.process.wait(timeout=10)


def test_the_running_relay_publishes_what_the_fast_path_could_not_and_stops_on_sigterm(team, start_relay):
    # given an outbox row published long ago, past the retention
    old = OutboxEvent.objects.create(type="task.created", envelope={}, deliveries=[])
    long_ago = timezone.now() - timedelta(days=30)
    OutboxEvent.objects.filter(pk=old.pk).update(created_at=long_ago)
    set_relay_watermark(through=old)
    # and a running relay
    relay = start_relay("--interval", "0.2", "--grace", "0")
    relay.wait_for_log("outbox relay started")

    # when a task is assigned while this process cannot reach Redis
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Launch")
    TaskWatcher.objects.create(task=task, user=team["member"])
    with redis_at(DEAD_REDIS_URL):
        services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    row = OutboxEvent.objects.exclude(pk=old.pk).get()

    # then the relay publishes the event, once, and its watermark passes the row. Not within a
    # fixed few seconds: the relay walks only rows of finished transactions (xid below the
    # oldest running one, cluster-wide), and the other test process's test transaction can hold
    # that back for as long as its test runs
    assert wait_until(lambda: stream_event_ids(team["member"].pk), timeout=60), relay.log()
    assert stream_event_ids(team["member"].pk) == [str(row.event_id)]
    assert wait_until(lambda: relay_passed(row), timeout=60), relay.log()
    # and it pruned the old published row
    assert not OutboxEvent.objects.filter(pk=old.pk).exists()

    # when it is sent SIGTERM
    relay.process.send_signal(signal.SIGTERM)

    # then it finishes its pass, says so and exits cleanly
    assert relay.process.wait(timeout=10) == 0, relay.log()
    log = relay.log()
    assert "relayed 1 event(s) the fast path had not published" in log
    assert "pruned 1 published outbox row(s)" in log
    assert "outbox relay stopped" in log
    assert "Traceback" not in log
    assert stream_event_ids(team["member"].pk) == [str(row.event_id)]


def test_the_relay_stops_promptly_on_sigterm_while_backing_off_from_redis(team, start_relay):
    # given an unpublished event, and a relay that cannot reach Redis and backs off (20 s)
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Launch")
    TaskWatcher.objects.create(task=task, user=team["member"])
    with redis_at(DEAD_REDIS_URL):
        services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    # (the backoff doubles the interval up to OUTBOX_RELAY_RETRY_MAX, 5 s by default: raised here)
    relay = start_relay(
        "--interval",
        "10",
        "--grace",
        "0",
        REDIS_URL=DEAD_REDIS_URL,
        REDIS_CLUSTER_URL="",
        REDIS_SENTINELS="",
        OUTBOX_RELAY_RETRY_MAX="20",
    )
    relay.wait_for_log("retrying in 20.0s")

    # when it is sent SIGTERM
    relay.process.send_signal(signal.SIGTERM)

    # then it stops now, not when the backoff is over (a supervisor would SIGKILL it first)
    assert relay.process.wait(timeout=5) == 0, relay.log()
    assert "outbox relay stopped" in relay.log()
    row = OutboxEvent.objects.get()
    assert not relay_passed(row)
    assert row.attempts >= 1
    assert "Connection refused" in row.last_error or "connecting" in row.last_error
