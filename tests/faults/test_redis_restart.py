"""Redis (this test's own redis-server, shared by django-core, the outbox relay and the relay)
killed and started again empty while an app writes 20 tasks a second through the gateway and
follows the project on its socket.

Writes never need Redis (the change and its outbox row commit in PostgreSQL; the fast path just
stands aside), so none is refused. The relay's history is gone after the restart, so the socket
gets each event or a `resync` (then the app refetches over REST): between the two, every task
written is seen. The outbox relay retries with a backoff until Redis is back and publishes what
the fast path could not, so the outbox drains; the relay's pub/sub link reconnects by itself, so
a write after the recovery reaches the open socket without restarting anything.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.client import sign_up
from tests.faults.engines import RedisServer
from tests.faults.support import (
    GATEWAY,
    Follower,
    WriteLoad,
    faults_database_url,
    project_task_ids,
    small_stack,
    wait_drained,
)

pytestmark = pytest.mark.faults

OUTAGE = 2.0  # seconds Redis stays down


def test_redis_restarted_empty_under_load_loses_no_write_and_no_event(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    database_url = faults_database_url("redis")
    with small_stack(tmp_path, database_url=database_url, redis_url=redis_server.url) as stack:
        gateway = stack.gateways[GATEWAY]
        ada = sign_up(gateway.url, "ada")
        project = ada.ok("POST", "/api/projects", {"name": "Redis restart"}, status=201)

        # Given Ada following her project live while she writes 20 tasks a second
        follower = Follower(ada, gateway.ws_url, project["id"]).start()
        load = WriteLoad(ada, project["id"], rate=20).start()
        try:
            time.sleep(1.5)
            # When Redis is killed and a fresh, empty one comes back on its port
            killed = time.monotonic()
            redis_server.restart(down_for=OUTAGE)
            outage = time.monotonic() - killed
            time.sleep(3.0)
        finally:
            load.stop()

        try:
            # Then no write was refused (a write needs PostgreSQL only; one in flight when Redis
            # died waits out at most one Redis timeout, REDIS_SOCKET_TIMEOUT, and succeeds)
            # (20/s for 6.5 s is 130; a busy machine answers fewer)
            assert len(load.created) >= 50, f"the load wrote only {len(load.created)} task(s)"
            assert not load.refused, "; ".join(f"{w.status} {w.body[:120]}" for w in load.refused[:5])

            # And the outbox relay publishes everything committed meanwhile
            drained_in = wait_drained(database_url, timeout=12)

            # And the relay resumed by itself: a new write reaches the open socket (no process
            # was restarted)
            assert all(process.running for process in stack.processes), stack.logs()
            after = load.write("After the restart")
            assert after.status == 201, after.body
            assert after.task_id is not None
            assert follower.wait_created(after.task_id, timeout=8), (
                f"the event of a write after the restart never reached the socket "
                f"({follower.connections} connection(s), {follower.resyncs} resync(s))"
            )
        finally:
            follower.stop()

        # And every task the API reported created exists, and the app saw each one: as its
        # event, or in the refetch a `resync` asked for
        written = load.created | {after.task_id}
        assert written <= project_task_ids(ada, project["id"]), "a task the API reported created is missing"
        missed = load.created - follower.created_seen - follower.refetched
        assert not missed, (
            f"{len(missed)} task(s) neither delivered nor resynced ({follower.resyncs} resync(s), "
            f"{len(follower.created_seen)} seen live)"
        )
        assert not follower.errors, follower.errors
        print(
            f"\nRedis down {outage:.1f} s; {len(load.writes)} writes, none refused; "
            f"outbox drained {drained_in:.1f} s after the load; "
            f"{len(load.created & follower.created_seen)} seen live, {follower.resyncs} resync(s), "
            f"{follower.connections} connection(s)"
        )
