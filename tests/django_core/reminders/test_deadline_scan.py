"""The deadline reminder scan: each (task, deadline, kind) reminder is claimed once in the
database and becomes one event, whatever the number of scans, concurrent or repeated."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from notifications.models import Notification, OutboxEvent
from reminders.models import DeadlineReminder
from reminders.services import deadline_reminders_scan

from tasks import services as task_services
from tasks.models import TaskStatus, TaskWatcher
from tests.django_core.factories import TaskFactory


def reminder_events() -> list[tuple[str, str | None]]:
    return [
        (row.type, row.envelope["data"].get("window"))
        for row in OutboxEvent.objects.filter(type__in=["task.deadline_approaching", "task.overdue"]).order_by("id")
    ]


@pytest.fixture
def due_task(team):
    """An open task of the team's member, reported by the owner, due in 20 hours."""
    task = TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        title="Report",
        deadline=timezone.now() + timedelta(hours=20),
    )
    TaskWatcher.objects.create(task=task, user=team["member"])
    return task


@pytest.mark.django_db
def test_a_task_due_within_24_hours_gets_one_reminder_for_its_audience_however_often_the_scan_runs(due_task, team):
    # when the scan runs, then again (a rerun, a redelivered beat message)
    first = deadline_reminders_scan()
    second = deadline_reminders_scan()

    # then one task.deadline_approaching event (window 24h), from the system, to the assignee
    # and the reporter, with their notifications
    assert (first.emitted, second.emitted) == (1, 0)
    assert reminder_events() == [("task.deadline_approaching", "24h")]
    row = OutboxEvent.objects.get(type="task.deadline_approaching")
    assert row.envelope["actor"] is None
    assert sorted(row.recipients["email"]) == sorted([team["member"].pk, team["owner"].pk])
    assert Notification.objects.get(recipient=team["member"]).message == "“Report” is due within 24 hours."
    assert DeadlineReminder.objects.get().status == "emitted"


@pytest.mark.django_db
def test_reminders_follow_the_clock_24h_then_1h_then_overdue(due_task):
    now = timezone.now()
    deadline_reminders_scan(now=now)
    deadline_reminders_scan(now=due_task.deadline - timedelta(minutes=40))
    deadline_reminders_scan(now=due_task.deadline + timedelta(minutes=1))
    deadline_reminders_scan(now=due_task.deadline + timedelta(minutes=5))
    assert reminder_events() == [
        ("task.deadline_approaching", "24h"),
        ("task.deadline_approaching", "1h"),
        ("task.overdue", None),
    ]


@pytest.mark.django_db
def test_a_task_created_shortly_before_its_deadline_gets_only_the_1h_reminder(team):
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        deadline=timezone.now() + timedelta(minutes=30),
    )
    deadline_reminders_scan()
    assert reminder_events() == [("task.deadline_approaching", "1h")]


@pytest.mark.django_db
def test_a_moved_deadline_gets_fresh_reminders(due_task, team):
    # given the 24-hour reminder went out
    deadline_reminders_scan()
    # when the deadline moves (still within 24 hours, so the same kind is due again)
    task_services.task_update(
        task=due_task, actor=team["owner"], fields={"deadline": due_task.deadline + timedelta(hours=2)}
    )
    deadline_reminders_scan()
    deadline_reminders_scan()
    # then a new reminder goes out, once
    assert reminder_events() == [("task.deadline_approaching", "24h"), ("task.deadline_approaching", "24h")]
    assert DeadlineReminder.objects.count() == 2


@pytest.mark.django_db
def test_done_tasks_and_long_past_deadlines_get_no_reminder(team):
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        status=TaskStatus.DONE,
        deadline=timezone.now() + timedelta(hours=2),
    )
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        status=TaskStatus.DONE,
        deadline=timezone.now() - timedelta(hours=2),
    )
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        deadline=timezone.now() - timedelta(days=30),
    )
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        deadline=timezone.now() + timedelta(days=3),
    )
    result = deadline_reminders_scan()
    assert (result.claimed, result.emitted) == (0, 0)
    assert reminder_events() == []


@pytest.mark.django_db
def test_a_claim_whose_task_was_finished_before_it_was_processed_is_dropped(due_task, team):
    # given a claim left pending (a scan that died after claiming)
    DeadlineReminder.objects.create(task=due_task, deadline=due_task.deadline, kind="24h")
    # when the task is finished before the next scan
    task_services.task_update(task=due_task, actor=team["owner"], fields={"status": TaskStatus.DONE})
    result = deadline_reminders_scan()
    # then no reminder goes out
    assert (result.emitted, result.obsolete) == (0, 1)
    assert reminder_events() == []
    assert DeadlineReminder.objects.get().status == "obsolete"


@pytest.mark.django_db(transaction=True)
def test_two_scans_at_the_same_moment_emit_each_reminder_once(team):
    # given several tasks due within 24 hours
    for index in range(5):
        TaskFactory(
            project=team["project"],
            reporter=team["owner"],
            assignee=team["member"],
            deadline=timezone.now() + timedelta(hours=3 + index),
        )
    now = timezone.now()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            start.wait(timeout=10)
            deadline_reminders_scan(now=now)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    # when two beats' scans run at once
    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then each task got exactly one reminder
    assert errors == []
    assert reminder_events() == [("task.deadline_approaching", "24h")] * 5
    assert DeadlineReminder.objects.filter(status="emitted").count() == 5
