"""PostgreSQL (a cluster of this test's own) stopped and started again under a steady write load,
django-core (gunicorn, its psycopg pools) and the outbox relay left running throughout.

While it is down the API answers at once, in the asker's language: 503 JSON
`database_unavailable`, never a hang (the pool gives up after DATABASE_POOL_TIMEOUT) and never a
500 page; /api/health says 503. Once it is back, requests succeed again without restarting
anything (the pool checks a connection before handing it out and replaces the broken ones), even
right after a restart nobody saw.
A write is all or nothing: every task the API reported created exists with its outbox event,
no task exists that the API refused, and the outbox relay publishes every event.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests

from tests.e2e.client import sign_up
from tests.faults.engines import RedisServer
from tests.faults.postgres import PostgresCluster, running_postgres
from tests.faults.support import WriteLoad, django_url, small_stack, wait_drained

pytestmark = pytest.mark.faults

POOL_TIMEOUT = 2.0  # DATABASE_POOL_TIMEOUT of this stack (5 s by default)
# Long enough for the pools' reconnection attempts to back off past it (psycopg_pool waits 1, 2,
# 4, 8 s ... between attempts unless DATABASE_POOL_RECONNECT_TIMEOUT cuts that short).
OUTAGE = 7.0
# An answer while the database is down comes within the pool's timeout, plus a request's own work.
ANSWER_BOUND = POOL_TIMEOUT + 2.5
# From PostgreSQL answering again to the first write that succeeds.
RECOVERY = 2.5
# Concurrent requests right after a quiet restart: more than gunicorn's threads (2 x 4), so every
# pooled connection of both workers is asked for.
BURST = 12
RUSSIAN_DETAIL = "База данных недоступна; повторите через несколько секунд."


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with running_postgres() as started:
        yield started


@dataclass
class Probe:
    path: str
    status: int
    seconds: float
    body: dict[str, object] | str


def probe(url: str, access: str, path: str) -> Probe:
    headers = {"Authorization": f"Bearer {access}", "Accept-Language": "ru"}
    started = time.monotonic()
    response = requests.get(f"{url}{path}", headers=headers, timeout=15)
    seconds = time.monotonic() - started
    try:
        body: dict[str, object] | str = response.json()
    except ValueError:
        body = response.text[:300]
    return Probe(path, response.status_code, seconds, body)


def first_success_after(load: WriteLoad, moment: float, *, timeout: float) -> float:
    """When the first write sent after `moment` was answered 201."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = next((w.answered for w in list(load.writes) if w.sent >= moment and w.status == 201), None)
        if done is not None:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no write succeeded within {timeout:g} s of PostgreSQL being back")


def list_tasks(url: str, access: str, project_id: int) -> int:
    headers = {"Authorization": f"Bearer {access}"}
    return requests.get(f"{url}/api/tasks?project={project_id}", headers=headers, timeout=15).status_code


def test_postgres_restarted_under_load_api_says_503_then_recovers_with_nothing_half_written(
    cluster: PostgresCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    database_url = cluster.url("taskflow_faults_postgres")
    with small_stack(
        tmp_path,
        database_url=database_url,
        redis_url=redis_server.url,
        relays=(),
        extra_env={"DATABASE_POOL_TIMEOUT": str(POOL_TIMEOUT)},
    ) as stack:
        url = django_url(stack)
        ada = sign_up(url, "ada")
        project = ada.ok("POST", "/api/projects", {"name": "Postgres restart"}, status=201)
        pids = {process.name: process.popen.pid for process in stack.processes if process.popen}

        # Given Ada writing 10 tasks a second
        load = WriteLoad(ada, project["id"], rate=10, timeout=15).start()
        probes: list[Probe] = []
        try:
            time.sleep(1.0)
            # When PostgreSQL stops (a fast shutdown: sessions cut, open transactions rolled back)
            cluster.stop()
            down_at = time.monotonic()
            while time.monotonic() - down_at < OUTAGE:
                probes.append(probe(url, ada.access, f"/api/tasks?project={project['id']}"))
                probes.append(probe(url, ada.access, "/api/health"))
            # And starts again on the same port with the same data
            cluster.start()
            up_at = time.monotonic()
            recovered_in = first_success_after(load, up_at, timeout=15) - up_at
            time.sleep(1.0)
        finally:
            load.stop()

        # Then while it was down the API answered 503 JSON in Ada's language, within a bound
        assert probes
        for answer in probes:
            assert answer.status == 503, answer
            assert answer.seconds <= ANSWER_BOUND, answer
            assert isinstance(answer.body, dict), answer
        for answer in (p for p in probes if p.path.startswith("/api/tasks")):
            assert answer.body == {"detail": RUSSIAN_DETAIL, "code": "database_unavailable"}, answer
        # And the writes it refused were refused the same way, only while it was down
        for write in load.refused:
            assert write.status == 503, f"{write.status} {write.body}"
            assert '"database_unavailable"' in write.body, write.body
            assert down_at - ANSWER_BOUND <= write.sent <= up_at + recovered_in, write
        # And once it was back, writes succeeded again at once, with no process restarted
        assert recovered_in <= RECOVERY, f"writes refused for {recovered_in:.1f} s after PostgreSQL was back"
        late = [w for w in load.writes if w.sent >= up_at + recovered_in]
        assert all(w.status == 201 for w in late), [f"{w.status} {w.body[:100]}" for w in late if w.status != 201]
        ada.ok("GET", "/api/health")  # 200 (its body is another test's concern)
        assert {p.name: p.popen.pid for p in stack.processes if p.popen and p.running} == pids

        # And nothing is half written: the tasks are exactly those the API reported created, each
        # with its task.created outbox event, and the outbox relay published every event
        with psycopg.connect(database_url, autocommit=True) as connection:
            rows = connection.execute("SELECT id FROM tasks_task WHERE project_id = %s", [project["id"]])
            tasks = {row[0] for row in rows}
            events = {
                int(row[0])
                for row in connection.execute(
                    "SELECT envelope->'data'->'task'->>'id' FROM notifications_outboxevent WHERE type = 'task.created'"
                )
            }
        assert tasks == load.created, (
            f"in the database but refused: {sorted(tasks - load.created)}; "
            f"reported created but missing: {sorted(load.created - tasks)}"
        )
        assert tasks <= events, f"tasks without their event: {sorted(tasks - events)}"
        assert events <= tasks, f"events of tasks that do not exist: {sorted(events - tasks)}"
        wait_drained(database_url, timeout=10)

        # When PostgreSQL restarts while nobody is asking anything (the pools keep their idle,
        # now broken, connections)
        cluster.stop()
        cluster.start()
        # Then the very first requests after it succeed: each pool checks a connection before
        # handing it out and replaces a broken one
        with ThreadPoolExecutor(BURST) as pool:
            statuses = list(pool.map(lambda _: list_tasks(url, ada.access, project["id"]), range(BURST)))
        assert statuses == [200] * BURST, statuses
        print(
            f"\n{len(load.writes)} writes, {len(load.refused)} refused (longest run "
            f"{load.longest_refusal():.1f} s); {len(probes)} probes while down, slowest "
            f"{max(p.seconds for p in probes):.2f} s; writes succeeded again {recovered_in:.1f} s after the start"
        )
