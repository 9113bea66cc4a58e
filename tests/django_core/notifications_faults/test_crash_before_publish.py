"""The publishing process dies between COMMIT and publish: the event is committed, nobody has it,
and the outbox relay delivers it, once."""

import pytest
from notifications.models import Notification, OutboxEvent

from common.redis import redis_client
from tasks.models import Task, TaskWatcher
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import relay_passed
from tests.django_core.notifications_faults.conftest import relay_once, run_python, stream_entries

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in its own interpreter against the test database: assigns the task through the service,
# inside a transaction whose first on-commit callback (registered before event_emit's fast path)
# kills the process, so it dies right after COMMIT and before publishing.
ASSIGN_THEN_DIE = r"""
import os, sys
import django
django.setup()
from django.db import transaction
from accounts.models import User
from tasks import services
from tasks.models import Task

task_id, actor_id, assignee_id = map(int, sys.argv[1:4])

def die():
    print("committed, dying", flush=True)
    os._exit(1)

with transaction.atomic():
    transaction.on_commit(die)
    services.task_update(
        task=Task.objects.get(pk=task_id),
        actor=User.objects.get(pk=actor_id),
        fields={"assignee": User.objects.get(pk=assignee_id)},
    )
print("survived the commit", flush=True)
"""


def test_the_relay_delivers_an_event_whose_publisher_died_after_commit(team, child_env):
    # given a task of the owner's that the member watches
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Launch")
    TaskWatcher.objects.create(task=task, user=team["member"])
    member = team["member"]

    # when another process assigns it to the member and dies between COMMIT and publish
    result = run_python(ASSIGN_THEN_DIE, str(task.pk), str(team["owner"].pk), str(member.pk), env=child_env())

    # then the change, the notification and the outbox row are committed, and nothing was published
    assert result.returncode == 1, result.stderr
    assert result.stdout.strip() == "committed, dying", (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert Task.objects.get(pk=task.pk).assignee_id == member.pk
    row = OutboxEvent.objects.get()
    assert row.type == "task.assigned"
    assert not relay_passed(row)
    assert row.attempts == 0
    # every member's board is to hear of it; only the member is notified
    members = sorted(team[role].pk for role in ("owner", "admin", "member", "viewer"))
    assert [delivery["user_id"] for delivery in row.deliveries] == members
    assert [d["user_id"] for d in row.deliveries if d["notification"] is not None] == [member.pk]
    assert Notification.objects.filter(recipient=member, event_id=row.event_id).exists()
    assert all(stream_entries(user_id) == [] for user_id in members)
    assert redis_client().keys("*") == []  # (no delivery, no done marker)

    # when the relay runs
    published = relay_once()

    # then the member has the event, exactly once, with their notification
    assert published == 1
    assert relay_passed(row)
    entries = stream_entries(member.pk)
    assert [message["event"]["id"] for _, message in entries] == [str(row.event_id)]
    message = entries[0][1]
    assert message["event"]["type"] == "task.assigned"
    assert message["event"]["data"]["assignee"]["id"] == member.pk
    assert message["notification"]["id"] == Notification.objects.get(event_id=row.event_id).pk
    # and every other member's board has it once, without a notification
    for user_id in members:
        if user_id != member.pk:
            assert [(m["event"]["id"], m["notification"]) for _, m in stream_entries(user_id)] == [
                (str(row.event_id), None)
            ]

    # and a second pass publishes nothing
    assert relay_once() == 0
    assert all(len(stream_entries(user_id)) == 1 for user_id in members)
