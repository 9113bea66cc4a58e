"""The fast path publishes on a Redis connection of its own per thread (notifications.publisher).
What Redis does to that connection costs neither an event nor a pause of the fast path: a
flushed script cache, a connection Redis closed (a restart, an idle timeout). A hung Redis is
not retried: the request waits for it once."""

import os
import time
from typing import Any

import pytest
from notifications import publisher
from notifications.models import OutboxEvent

from common.redis import redis_client
from tasks import services
from tests.django_core.notifications.helpers import relay_passed
from tests.django_core.notifications_faults.conftest import redis_at, stream_entries

pytestmark = pytest.mark.django_db(transaction=True)


def create(team: dict[str, Any], title: str) -> None:
    """One event: task.created, which reaches every member's board (the member's among them)."""
    services.task_create(actor=team["owner"], project=team["project"], title=title)


def titles_heard(user_id: int) -> list[str]:
    return [message["event"]["data"]["task"]["title"] for _cursor, message in stream_entries(user_id)]


def fast_path_client_id() -> int:
    """The Redis client id of this thread's fast-path connection."""
    connection = publisher._fast_path_connection.connection
    connection.send_command("CLIENT", "ID")
    return int(connection.read_response())


def assert_published_by_the_fast_path() -> None:
    assert publisher._fast_path_paused_until <= time.monotonic()
    assert not any(relay_passed(row) for row in OutboxEvent.objects.all())  # no relay ran


def test_the_fast_path_loads_its_script_again_when_redis_has_forgotten_it(team):
    # given an event published, and then Redis's script cache flushed (as after a restart)
    create(team, "First")
    redis_client().script_flush()

    # when the next event is published
    create(team, "Second")

    # then the fast path loaded the script and published it at once
    assert titles_heard(team["member"].pk) == ["First", "Second"]
    assert_published_by_the_fast_path()


def test_the_fast_path_reconnects_when_redis_closed_its_connection(team):
    # given an event published, and then Redis closing the fast path's connection
    create(team, "First")
    assert redis_client().client_kill_filter(_id=fast_path_client_id()) == 1

    # when the next event is published
    create(team, "Second")

    # then the fast path reconnected and published it at once, without pausing
    assert titles_heard(team["member"].pk) == ["First", "Second"]
    assert_published_by_the_fast_path()


def test_a_hung_redis_is_waited_for_once_and_pauses_the_fast_path(team, silent_redis_url):
    # given Redis that accepts connections and never answers
    with redis_at(silent_redis_url, REDIS_SOCKET_TIMEOUT=0.3):
        started = time.monotonic()

        # when an event is published
        create(team, "Hung")

        # then the request waited one timeout, not one per retry, and the fast path stands aside
        assert time.monotonic() - started < 0.3 * 2
        assert publisher._fast_path_paused_until > time.monotonic()
    assert titles_heard(team["member"].pk) == []


def test_a_forked_child_publishes_on_a_connection_of_its_own(team):
    # given the fast path's connection in use in this process
    def call(event_id: str) -> int:
        keys, args = publisher._script_call(
            event_id,
            '{"id":"' + event_id + '"}',
            [{"user_id": team["member"].pk, "notification": None}],
            seq=1,
            prev=None,
            force=True,
        )
        return publisher._fast_path_call(keys, args)

    assert call("parent-1") == publisher.PUBLISHED
    parent_id = fast_path_client_id()

    # when a child forked from this thread publishes (Redis only: the child never touches the database)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child's report comes back through the pipe)
        try:
            outcome = call("child-1")
            os.write(write_end, f"{outcome} {fast_path_client_id()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as report:
        outcome, child_id = map(int, report.read().split())
    os.waitpid(child, 0)

    # then it used a connection of its own, and this process's connection still works
    assert outcome == publisher.PUBLISHED
    assert child_id != parent_id
    assert call("parent-2") == publisher.PUBLISHED
    assert fast_path_client_id() == parent_id
