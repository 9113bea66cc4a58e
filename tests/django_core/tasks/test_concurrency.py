"""Assigning a task while its assignee is being removed from the project.

Each side runs in its own thread with its own database connection and transaction; a hook pauses
one side half-way so the interleaving is fixed, not left to chance. Whatever the order, no task
may end up assigned to someone who is no longer a member of its project."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework import exceptions

from projects import services as project_services
from projects.models import Membership
from tasks import services
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)

# How long the paused side waits for the other one before going on (the other side is expected to
# be blocked on a lock for that long when the services serialize correctly).
PAUSE = 0.5


def in_thread(target: Callable[[], Any], outcome: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # inspected by the test's thread
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def assert_no_task_assigned_to_a_non_member(project):
    members = set(Membership.objects.filter(project=project).values_list("user_id", flat=True))
    assignees = set(Task.objects.filter(project=project, assignee__isnull=False).values_list("assignee_id", flat=True))
    assert assignees <= members, "a task is assigned to someone who left the project"


@pytest.fixture
def leaving(team, make_task):
    """A task to assign to the admin, while the owner removes the admin from the project."""
    return team, make_task(project=team["project"], reporter=team["member"])


def remove_admin(team):
    member = Membership.objects.get(project=team["project"], user=team["admin"])
    return lambda: project_services.membership_remove(project=team["project"], actor=team["owner"], member=member)


@pytest.mark.parametrize("write", ["update", "create"])
def test_assigning_while_the_assignee_is_removed(leaving, monkeypatch, write):
    # given the assignment has checked the assignee's membership and is paused before it commits
    team, task = leaving
    validated, resume = threading.Event(), threading.Event()
    original = services.task_assignee_validate

    def validate_then_pause(**kwargs: Any) -> str | None:
        rank = original(**kwargs)
        if kwargs["assignee"] is not None:
            validated.set()
            resume.wait(PAUSE)
        return rank

    monkeypatch.setattr(services, "task_assignee_validate", validate_then_pause)
    if write == "update":
        assign = lambda: services.task_update(task=task, actor=team["member"], fields={"assignee": team["admin"]})  # noqa: E731
    else:
        assign = lambda: services.task_create(  # noqa: E731
            actor=team["member"], project=team["project"], title="Racing", assignee=team["admin"]
        )
    assigning: dict[str, Any] = {}
    removing: dict[str, Any] = {}

    # when the owner removes the assignee meanwhile
    first = in_thread(assign, assigning)
    assert validated.wait(10)
    second = in_thread(remove_admin(team), removing)
    second.join(PAUSE)
    resume.set()
    first.join(10)
    second.join(10)

    # then both finished, the removal won, and nothing is left assigned to the admin
    assert not first.is_alive()
    assert not second.is_alive()
    assert "error" not in removing, removing
    assert "error" not in assigning or isinstance(assigning["error"], exceptions.ValidationError), assigning
    assert not Membership.objects.filter(project=team["project"], user=team["admin"]).exists()
    assert_no_task_assigned_to_a_non_member(team["project"])


@pytest.mark.parametrize("write", ["update", "create"])
def test_removing_while_someone_assigns_the_leaver(leaving, monkeypatch, write):
    # given the removal has released the leaver's tasks and is paused before it commits
    team, task = leaving
    released, resume = threading.Event(), threading.Event()
    original = services.tasks_release_member

    def release_then_pause(**kwargs: Any) -> int:
        count = original(**kwargs)
        released.set()
        resume.wait(PAUSE)
        return count

    monkeypatch.setattr(services, "tasks_release_member", release_then_pause)
    if write == "update":
        assign = lambda: services.task_update(task=task, actor=team["member"], fields={"assignee": team["admin"]})  # noqa: E731
    else:
        assign = lambda: services.task_create(  # noqa: E731
            actor=team["member"], project=team["project"], title="Racing", assignee=team["admin"]
        )
    assigning: dict[str, Any] = {}
    removing: dict[str, Any] = {}

    # when a member assigns the leaver meanwhile
    first = in_thread(remove_admin(team), removing)
    assert released.wait(10)
    second = in_thread(assign, assigning)
    second.join(PAUSE)
    resume.set()
    first.join(10)
    second.join(10)

    # then the assignment is refused (the assignee is gone by the time it may proceed)
    assert not first.is_alive()
    assert not second.is_alive()
    assert "error" not in removing, removing
    assert isinstance(assigning.get("error"), exceptions.ValidationError), assigning
    assert_no_task_assigned_to_a_non_member(team["project"])


def test_editing_a_leavers_task_while_they_are_removed_does_not_deadlock(leaving, monkeypatch):
    # given the removal holds the project's lock and is paused before it releases the leaver's tasks
    team, task = leaving
    Task.objects.filter(pk=task.pk).update(assignee=team["admin"])
    locked, resume = threading.Event(), threading.Event()
    original = services.tasks_release_member

    def pause_then_release(**kwargs: Any) -> int:
        locked.set()
        resume.wait(PAUSE)
        return original(**kwargs)

    monkeypatch.setattr(services, "tasks_release_member", pause_then_release)
    editing: dict[str, Any] = {}
    removing: dict[str, Any] = {}

    # when a member edits the leaver's task meanwhile (locking the task row)
    first = in_thread(remove_admin(team), removing)
    assert locked.wait(10)
    second = in_thread(
        lambda: services.task_update(task=task, actor=team["member"], fields={"priority": "urgent"}), editing
    )
    second.join(PAUSE)
    resume.set()
    first.join(10)
    second.join(10)

    # then both succeed: the edit only locks the task, never the project the removal holds
    assert not first.is_alive()
    assert not second.is_alive()
    assert "error" not in removing, removing
    assert "error" not in editing, editing
    task.refresh_from_db()
    assert (task.priority, task.assignee) == ("urgent", None)


def test_two_assignments_in_one_project_do_not_wait_for_each_other(team, monkeypatch):
    # given an assignment that has checked its assignee and is paused before it commits
    validated, resume = threading.Event(), threading.Event()
    original = services.task_assignee_validate
    paused = threading.local()

    def validate_then_pause(**kwargs: Any) -> str | None:
        rank = original(**kwargs)
        if getattr(paused, "this_one", False):
            validated.set()
            resume.wait(10)
        return rank

    monkeypatch.setattr(services, "task_assignee_validate", validate_then_pause)

    def first_assignment() -> Task:
        paused.this_one = True
        return services.task_create(actor=team["member"], project=team["project"], title="Slow", assignee=team["admin"])

    first_outcome: dict[str, Any] = {}
    second_outcome: dict[str, Any] = {}
    first = in_thread(first_assignment, first_outcome)
    assert validated.wait(10)

    # when another member assigns a task in the same project meanwhile
    def second_assignment() -> Task:
        return services.task_create(actor=team["admin"], project=team["project"], title="Fast", assignee=team["member"])

    second = in_thread(second_assignment, second_outcome)
    second.join(5)

    # then it commits without waiting for the first (the project's share lock is not exclusive)
    finished_while_first_paused = not second.is_alive()
    resume.set()
    first.join(10)
    assert finished_while_first_paused, "the second assignment waited for the first one's transaction"
    assert "error" not in first_outcome, first_outcome
    assert "error" not in second_outcome, second_outcome
    assert set(Task.objects.filter(project=team["project"]).values_list("title", flat=True)) >= {"Slow", "Fast"}
