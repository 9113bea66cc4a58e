"""A relay instance SIGKILLed (no drain, no close frame) while it holds an app's socket and tasks
keep being written: two instances behind one gateway (as the e2e `pair`), the app reconnecting
through the same URL with its last cursor.

tests/e2e/test_two_relays.py covers a graceful stop with no load (close 1001, one event missed);
here the instance dies at once under 20 writes a second. The gateway sends the reconnect to the
instance still alive, which replays the user's history from the cursor (it lives in Redis, not in
the dead process), so every task's event arrives, in the order written (or, should the gap not be
closable, `resync` and the app refetches over REST).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.e2e.client import sign_up
from tests.e2e.stack import Stack
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


def connections(stack: Stack) -> dict[str, int]:
    return {name: relay.health()["connections"] for name, relay in stack.relays.items() if relay.process.running}


def test_relay_instance_killed_under_load_its_client_moves_over_and_misses_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    database_url = faults_database_url("relay")
    with small_stack(tmp_path, database_url=database_url, redis_url=redis_server.url, relays=("a", "b")) as stack:
        gateway = stack.gateways[GATEWAY]
        ada = sign_up(gateway.url, "ada")
        project = ada.ok("POST", "/api/projects", {"name": "Relay killed"}, status=201)

        # Given Ada following her project through the gateway while she writes 20 tasks a second
        follower = Follower(ada, gateway.ws_url, project["id"]).start()
        (holder,) = [name for name, count in connections(stack).items() if count == 1]
        (other,) = [name for name in stack.relays if name != holder]
        load = WriteLoad(ada, project["id"], rate=20).start()
        try:
            time.sleep(1.5)
            # When the instance holding her socket is killed outright
            stack.relays[holder].process.stop(signal.SIGKILL)
            time.sleep(3.0)
        finally:
            load.stop()

        try:
            # Then every write succeeded (the relay is not on the write path)
            assert not load.refused, [f"{w.status} {w.body[:120]}" for w in load.refused[:5]]
            wait_drained(database_url, timeout=10)
            last = load.write("After the kill")
            assert last.task_id is not None, last.body
            # And her app reconnected through the same gateway, to the other instance, and is live
            assert follower.wait_created(last.task_id, timeout=8), (
                f"no event after the kill ({follower.connections} connection(s), "
                f"{follower.reconnect_failures} failed reconnect(s))"
            )
            assert follower.connections == 2, follower.connections
            assert connections(stack) == {other: 1}
        finally:
            follower.stop()

        # And she missed nothing: each task's event, in the order written (or a resync + refetch)
        written = load.created | {last.task_id}
        assert written <= project_task_ids(ada, project["id"])
        missed = written - follower.created_seen - follower.refetched
        assert not missed, f"{len(missed)} task(s) neither delivered nor resynced ({follower.resyncs} resync(s))"
        order = [event["data"]["task"]["id"] for event in follower.events if event["type"] == "task.created"]
        first_seen = list(dict.fromkeys(order))
        assert first_seen == sorted(first_seen), "task.created events arrived out of order"
        assert not follower.errors, follower.errors
        print(
            f"\n{len(load.writes)} writes; relay {holder} killed; {len(written & follower.created_seen)} of "
            f"{len(written)} seen live, {len(order) - len(first_seen)} duplicate(s), {follower.resyncs} resync(s), "
            f"{follower.reconnect_failures} failed reconnect(s)"
        )
