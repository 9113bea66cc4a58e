"""Redis goes away while tasks are being (re)assigned through the API, then comes back.

The API keeps answering 2xx, the events stay in the outbox, and once Redis is back the relay
delivers every event exactly once per recipient, in commit order, to the history stream and the
live channel alike."""

import json
import time
from typing import Any

import pytest
from notifications import publisher
from notifications.models import OutboxEvent
from taskflow_contracts import event_frame
from taskflow_contracts.redis_layout import split_request_id, tagged_user_channel, tagged_user_stream

from common.redis import redis_client
from tasks.models import TaskWatcher
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import ShardedSubscriber, relay_passed
from tests.django_core.notifications_faults.conftest import (
    DEAD_REDIS_URL,
    redis_at,
    relay_once,
    stream_entries,
    stream_event_ids,
)

pytestmark = pytest.mark.django_db(transaction=True)

PATCHES = 20


@pytest.fixture
def assigned_task(team: dict[str, Any]) -> dict[str, Any]:
    """A task of the owner's assigned to the member; the member and the admin both watch it, so
    every (re)assignment between them concerns exactly these two people."""
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"], title="Launch")
    for person in (team["member"], team["admin"]):
        TaskWatcher.objects.create(task=task, user=person)
    return {
        "task": task,
        "owner": team["owner"],
        "recipients": [team["member"], team["admin"]],
        # The project's other members, whose boards follow every change without a notification.
        "board_only": [team["owner"], team["viewer"]],
    }


def reassign_repeatedly(client, task_id: int, people: list) -> list[tuple[int, float, int]]:
    """PATCHes the assignee PATCHES times, alternating between the two people (starting with the
    one not assigned yet); (status, seconds, new assignee id) per request."""
    answers = []
    for index in range(PATCHES):
        target = people[(index + 1) % 2]
        started = time.monotonic()
        response = client.patch(f"/api/tasks/{task_id}", {"assignee": target.pk}, format="json")
        answers.append((response.status_code, time.monotonic() - started, target.pk))
        assert response.json().get("assignee", {}).get("id") == target.pk, response.json()
    return answers


def drain(
    subscriber: ShardedSubscriber, event_ids: set[str], expected: int, timeout: float = 5.0
) -> list[tuple[str, dict[str, Any]]]:
    """(channel, frame) for the frames of these events: `expected` of them, then anything more arriving within
    0.2 s. Pub/sub channels are shared by every Redis database, so frames another test process
    publishes for a user with the same id are left out (they carry other event ids)."""
    frames: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    while True:
        wait = deadline - time.monotonic() if len(frames) < expected else 0.2
        message = subscriber.next_message(timeout=max(wait, 0.01))
        if message is None:
            if len(frames) >= expected or time.monotonic() >= deadline:
                return frames
            continue
        # as the relay takes it: without the request id the publisher may put first
        frame = json.loads(split_request_id(message["data"].decode())[1])
        if frame["event"]["id"] in event_ids:
            frames.append((message["channel"].decode(), frame))


@pytest.mark.parametrize("outage", ["refused", "hung"])
def test_events_survive_a_redis_outage_exactly_once_and_in_order(assigned_task, client_for, outage, silent_redis_url):
    task, owner, recipients = assigned_task["task"], assigned_task["owner"], assigned_task["recipients"]
    client = client_for(owner)
    board_only = assigned_task["board_only"]
    url = DEAD_REDIS_URL if outage == "refused" else silent_redis_url

    # given Redis cannot be reached (a refused port, or one that never answers)
    # when the owner reassigns the task back and forth through the API
    with redis_at(url, OUTBOX_FAST_PATH_PAUSE=600):
        answers = reassign_repeatedly(client, task.pk, recipients)
        paused = publisher._fast_path_paused_until > time.monotonic()

    # then every request succeeded, none waited long on Redis, and after the first failure the
    # fast path stood aside (it never touches the rows: it publishes from memory)
    assert [status for status, _, _ in answers] == [200] * PATCHES
    assert max(seconds for _, seconds, _ in answers) < 2.0, answers
    assert paused
    rows = list(OutboxEvent.objects.order_by("id"))
    assert len(rows) == 2 * PATCHES
    assert not any(relay_passed(row) for row in rows)
    assert [(row.attempts, row.last_error) for row in rows] == [(0, "")] * len(rows)
    # (each PATCH is one task.assigned then one task.unassigned, both for the two watchers)
    assert [row.type for row in rows] == ["task.assigned", "task.unassigned"] * PATCHES
    assert [row.envelope["data"]["assignee"]["id"] for row in rows[::2]] == [target for _, _, target in answers]
    for row in rows:
        assert sorted(d["user_id"] for d in row.deliveries) == sorted(p.pk for p in recipients + board_only)
        notified = [d["user_id"] for d in row.deliveries if d["notification"] is not None]
        assert sorted(notified) == sorted(p.pk for p in recipients)
    expected = [str(row.event_id) for row in rows]
    for person in recipients + board_only:
        assert redis_client().xlen(tagged_user_stream(person.pk)) == 0

    # when Redis is back, the recipients are listening, and the relay runs
    subscriber = ShardedSubscriber()
    subscriber.subscribe(*[tagged_user_channel(person.pk) for person in recipients])
    try:
        published = relay_once()
        received = drain(subscriber, set(expected), expected=len(expected) * len(recipients))
    finally:
        subscriber.close()

    # then each recipient's history holds every event once, in commit (outbox id) order, and each
    # live subscriber got the same events, in the same order, as the frames the contract defines
    assert published == len(rows)
    assert publisher.outbox_unpublished_count() == 0
    for person in recipients:
        entries = stream_entries(person.pk)
        assert [message["event"]["id"] for _, message in entries] == expected
        frames = [frame for channel, frame in received if channel == tagged_user_channel(person.pk)]
        assert [frame["event"]["id"] for frame in frames] == expected
        assert frames == [
            json.loads(event_frame(cursor, json.dumps(message, ensure_ascii=False))) for cursor, message in entries
        ]
        notified = [frame["notification"] for frame in frames]
        assert all(n is not None and n["is_read"] is False for n in notified)
        assert len({n["id"] for n in notified}) == len(expected)
    assert len(received) == len(expected) * len(recipients)
    # and the other members' histories hold the same events once, in the same order, unnotified
    for person in board_only:
        entries = stream_entries(person.pk)
        assert [(message["event"]["id"], message["notification"]) for _, message in entries] == [
            (event_id, None) for event_id in expected
        ]

    # when the relay runs again, nothing is published twice
    lengths = {person.pk: redis_client().xlen(tagged_user_stream(person.pk)) for person in recipients}
    assert relay_once() == 0
    assert {person.pk: redis_client().xlen(tagged_user_stream(person.pk)) for person in recipients} == lengths


def test_a_row_marked_unpublished_after_its_publish_is_not_delivered_twice(assigned_task, client_for):
    # given events that reached Redis, but whose rows were not marked published (the relay died
    # between Redis and PostgreSQL)
    task, owner, recipients = assigned_task["task"], assigned_task["owner"], assigned_task["recipients"]
    response = client_for(owner).patch(f"/api/tasks/{task.pk}", {"assignee": recipients[1].pk}, format="json")
    assert response.status_code == 200
    rows = list(OutboxEvent.objects.order_by("id"))
    assert len(rows) == 2
    assert not any(relay_passed(row) for row in rows)  # the fast path leaves the watermark alone
    before = {person.pk: stream_event_ids(person.pk) for person in recipients}
    assert before == {person.pk: [str(row.event_id) for row in rows] for person in recipients}

    # when the relay runs
    relay_once()

    # then the rows are marked published, and nobody received anything a second time
    assert publisher.outbox_unpublished_count() == 0
    assert {person.pk: stream_event_ids(person.pk) for person in recipients} == before


def test_after_its_pause_the_fast_path_holds_new_events_until_the_relay_delivers_the_waiting_ones(
    assigned_task, client_for
):
    # given a board its members have heard of
    task, owner, recipients = assigned_task["task"], assigned_task["owner"], assigned_task["recipients"]
    client = client_for(owner)
    assert client.patch(f"/api/tasks/{task.pk}", {"priority": "urgent"}, format="json").status_code == 200
    heard = list(OutboxEvent.objects.values_list("event_id", flat=True))
    # and events left in the outbox during an outage, and the fast path paused
    with redis_at(DEAD_REDIS_URL, OUTBOX_FAST_PATH_PAUSE=0.3):
        assert client.patch(f"/api/tasks/{task.pk}", {"assignee": recipients[1].pk}, format="json").status_code == 200
        paused_until = publisher._fast_path_paused_until
        waiting = list(
            OutboxEvent.objects.exclude(event_id__in=heard).order_by("id").values_list("event_id", flat=True)
        )
    assert paused_until > time.monotonic()
    assert len(waiting) == 2

    # when Redis is back, the pause is over, and the next change commits
    time.sleep(max(0.0, paused_until - time.monotonic()) + 0.05)
    response = client.patch(f"/api/tasks/{task.pk}", {"assignee": recipients[0].pk}, format="json")

    # then the fast path tried again, but its events may not overtake the waiting ones on the
    # board: Redis holds them back
    assert response.status_code == 200
    assert publisher._fast_path_paused_until <= time.monotonic()
    for person in recipients:
        assert stream_event_ids(person.pk) == [str(heard[0])]

    # when the relay delivers the waiting events, the held ones follow at once, in board order
    relay_once()
    rows = list(OutboxEvent.objects.order_by("board_seq"))
    assert len(rows) == 5
    for person in recipients:
        assert stream_event_ids(person.pk) == [str(row.event_id) for row in rows]
        assert stream_event_ids(person.pk)[1:3] == [str(event_id) for event_id in waiting]
