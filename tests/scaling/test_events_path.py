"""The whole events path on each engine (scaling_stack: a Redis Cluster of three masters or Redis
Sentinel, and PostgreSQL behind PgBouncer in transaction mode): a write through the gateway reaches
the sockets of the assignee and of another member, through either relay; a socket that comes
back with its cursor gets what it missed, in order; writers on two projects at once reach every
member in each board's order."""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

import pytest
import redis
from taskflow_contracts.redis_layout import tagged_user_stream

from tests.e2e.client import Person, Socket, sign_up, verify_email
from tests.e2e.mail_sink import MailSink
from tests.scaling.conftest import EngineStack
from tests.scaling.live import LiveView

pytestmark = pytest.mark.scaling


def people(base_url: str, mail_sink: MailSink, *names: str) -> list[Person]:
    """New people, signed in, their addresses verified (invitations are accepted by id only
    from a verified address)."""
    found = [sign_up(base_url, name) for name in names]
    for person in found:
        verify_email(person, mail_sink)
    return found


def project_with(owner: Person, members: list[Person]) -> dict[str, Any]:
    project = owner.ok("POST", "/api/projects", {"name": f"Wide {uuid.uuid4().hex[:6]}"}, status=201)
    for member in members:
        invite = owner.ok(
            "POST", f"/api/projects/{project['id']}/invites", {"email": member.email, "role": "member"}, 201
        )
        member.ok("POST", f"/api/invites/{invite['id']}/accept", status=201)
    return project


def assert_data_on_the_engine(scaling_stack: EngineStack, people: list[Person]) -> None:
    """The users' history streams are in the engine under test, not on the single node (which
    holds only the Celery broker here)."""
    client = scaling_stack.realtime_redis()
    try:
        for person in people:
            assert client.xlen(tagged_user_stream(person.id)) > 0, f"no history for {person.name}"
    finally:
        client.close()
    with contextlib.closing(redis.Redis.from_url(scaling_stack.stack.redis_url)) as single:
        assert not single.exists(*(tagged_user_stream(person.id) for person in people))


def assert_through_pgbouncer(scaling_stack: EngineStack) -> None:
    """PgBouncer counted the stack's transactions on its database."""
    bouncer = scaling_stack.pgbouncer
    database = scaling_stack.stack.database_url.rsplit("/", 1)[1]
    with bouncer.connect("pgbouncer", autocommit=True) as admin:
        cursor = admin.execute("SHOW STATS")
        columns = [column.name for column in cursor.description or []]
        stats = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    assert stats[database]["total_xact_count"] > 0


def test_a_write_reaches_the_assignees_and_a_members_sockets_and_a_reconnect_replays(
    scaling_stack: EngineStack, mail_sink: MailSink
) -> None:
    gateway = scaling_stack.stack.gateways["pair"]  # two relays behind it
    ada, bob, carol = people(gateway.url, mail_sink, "ada", "bob", "carol")
    project = project_with(ada, [bob, carol])
    bob_socket, carol_socket = Socket.open(bob, gateway.ws_url), Socket.open(carol, gateway.ws_url)

    # When Ada adds a task assigned to Bob
    task = ada.ok("POST", "/api/tasks", {"project": project["id"], "title": "Grow", "assignee": bob.id}, status=201)

    # Then Bob is notified, and Carol's board hears of the new task
    assigned = bob_socket.next_event("task.assigned")
    assert assigned["event"]["data"]["task"]["id"] == task["id"]
    assert assigned["notification"] is not None
    created = carol_socket.next_event("task.created")
    assert created["event"]["data"]["task"]["id"] == task["id"]
    assert created["notification"] is None  # board only: she is not in the task's audience

    # When Ada moves it, both see it move
    ada.ok("POST", f"/api/tasks/{task['id']}/move", {"status": "in_progress"})
    for socket in (bob_socket, carol_socket):
        moved = socket.next_event("task.status_changed")
        assert moved["event"]["data"]["task"]["status"] == "in_progress"
    seen_by_bob = bob_socket.cursor

    # When Bob is away while Ada moves it again, Carol sees it live
    bob_socket.close()
    ada.ok("POST", f"/api/tasks/{task['id']}/move", {"status": "review"})
    live = carol_socket.next_event("task.status_changed")
    assert live["event"]["data"]["task"]["status"] == "review"

    # Then Bob, back with his cursor, gets exactly what he missed, first
    again = Socket.open(bob, gateway.ws_url, cursor=seen_by_bob)
    first = again.recv()
    assert first["type"] == "event", first
    assert first["event"]["id"] == live["event"]["id"]
    again.close()
    carol_socket.close()

    assert_data_on_the_engine(scaling_stack, [bob, carol])
    assert_through_pgbouncer(scaling_stack)


def test_writers_on_two_projects_at_once_reach_every_member_in_each_boards_order(
    scaling_stack: EngineStack, mail_sink: MailSink
) -> None:
    gateway = scaling_stack.stack.gateways["pair"]
    ada, dan, bob = people(gateway.url, mail_sink, "ada", "dan", "bob")
    first = project_with(ada, [bob])
    second = project_with(dan, [bob])
    view = LiveView(bob, gateway.ws_url)
    view.start()
    view.wait_open()
    created: dict[int, list[int]] = {first["id"]: [], second["id"]: []}

    def write(person: Person, project: dict[str, Any], count: int) -> None:
        for number in range(count):
            task = person.ok("POST", "/api/tasks", {"project": project["id"], "title": f"T{number}"}, status=201)
            created[project["id"]].append(task["id"])

    # When Ada and Dan each add tasks to their project at the same time
    writers = [
        threading.Thread(target=write, args=(ada, first, 15)),
        threading.Thread(target=write, args=(dan, second, 15)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    # Then Bob, a member of both, gets every task once, each board's in the order it was written
    expected = {task_id for ids in created.values() for task_id in ids}
    view.wait_for(lambda: expected <= set(view.task_ids("task.created")), timeout=30, what="every task.created")
    view.stop()
    events = [event for event in view.events() if event["type"] == "task.created"]
    assert len({event["id"] for event in events}) == len(events), "an event came twice"
    for project_id, ids in created.items():
        in_order = [
            event["data"]["task"]["id"] for event in events if event["data"]["task"]["project_id"] == project_id
        ]
        assert in_order == ids
    assert view.resyncs == 0
