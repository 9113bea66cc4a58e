from datetime import UTC, datetime

import pytest
from rest_framework import exceptions

from tasks import services
from tasks.models import Comment, Task, TaskStatus, TaskWatcher
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory


def watcher_ids(task):
    return set(TaskWatcher.objects.filter(task=task).values_list("user_id", flat=True))


# --- task_create -------------------------------------------------------------------------------


def test_task_create_reports_and_watches(team):
    deadline = datetime(2030, 1, 1, tzinfo=UTC)

    task = services.task_create(
        actor=team["member"],
        project=team["project"],
        title="From the bot",
        description="Details",
        priority="high",
        assignee=team["admin"],
        deadline=deadline,
    )

    task.refresh_from_db()
    assert task.reporter == team["member"]
    assert (task.title_en, task.description_en, task.priority, task.deadline) == (
        "From the bot",
        "Details",
        "high",
        deadline,
    )
    assert task.status == TaskStatus.TODO
    assert task.completed_at is None
    assert watcher_ids(task) == {team["member"].pk, team["admin"].pk}


def test_task_create_with_translations(team):
    task = services.task_create(
        actor=team["member"], project=team["project"], translations={"title_en": "Hello", "title_ru": "Привет"}
    )

    task.refresh_from_db()
    assert (task.title_en, task.title_ru) == ("Hello", "Привет")


def test_task_create_done_is_completed(team):
    task = services.task_create(actor=team["member"], project=team["project"], title="T", status=TaskStatus.DONE)

    assert task.completed_at is not None


def test_task_create_refuses_a_viewer(team):
    with pytest.raises(exceptions.PermissionDenied):
        services.task_create(actor=team["viewer"], project=team["project"], title="T")

    assert not Task.objects.exists()


def test_task_create_hides_the_project_from_an_outsider(team):
    with pytest.raises(exceptions.NotFound):
        services.task_create(actor=team["outsider"], project=team["project"], title="T")

    assert not Task.objects.exists()


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_task_create_refuses_an_assignee_below_member(team, who):
    with pytest.raises(exceptions.ValidationError) as error:
        services.task_create(actor=team["member"], project=team["project"], title="T", assignee=team[who])

    assert "assignee" in error.value.detail
    assert not Task.objects.exists()


# --- task_update -------------------------------------------------------------------------------


def test_task_update_sets_and_clears_completed_at(team, team_task):
    done = services.task_update(task=team_task, actor=team["member"], fields={"status": TaskStatus.DONE})
    assert done.completed_at is not None

    again = services.task_update(task=done, actor=team["member"], fields={"status": TaskStatus.DONE})
    assert again.completed_at == done.completed_at

    reopened = services.task_update(task=again, actor=team["member"], fields={"status": TaskStatus.TODO})
    assert reopened.completed_at is None
    team_task.refresh_from_db()
    assert team_task.completed_at is None


def test_task_update_makes_the_new_assignee_watch(team, team_task):
    services.task_update(task=team_task, actor=team["member"], fields={"assignee": team["owner"]})

    team_task.refresh_from_db()
    assert team_task.assignee == team["owner"]
    assert watcher_ids(team_task) == {team["member"].pk, team["owner"].pk}


def test_task_update_refuses_a_viewer(team, team_task):
    with pytest.raises(exceptions.PermissionDenied):
        services.task_update(task=team_task, actor=team["viewer"], fields={"title": "Changed"})

    team_task.refresh_from_db()
    assert team_task.title_en == "Team task"


def test_task_update_refuses_a_viewer_as_assignee(team, team_task):
    with pytest.raises(exceptions.ValidationError):
        services.task_update(task=team_task, actor=team["member"], fields={"assignee": team["viewer"]})

    team_task.refresh_from_db()
    assert team_task.assignee is None


def test_task_update_refuses_to_leave_a_task_without_any_title(team, team_task):
    with pytest.raises(exceptions.ValidationError) as error:
        services.task_update(task=team_task, actor=team["member"], fields={"title_en": "", "title_ru": ""})

    assert "title" in error.value.detail
    team_task.refresh_from_db()
    assert team_task.title_en == "Team task"


def test_task_update_works_from_a_stale_instance(team, team_task):
    stale = Task.objects.get(pk=team_task.pk)
    services.task_update(task=team_task, actor=team["member"], fields={"priority": "urgent"})

    services.task_update(task=stale, actor=team["member"], fields={"status": "review"})

    team_task.refresh_from_db()
    # The second write started from a stale copy, yet did not undo the first.
    assert (team_task.priority, team_task.status) == ("urgent", "review")


# --- task_delete -------------------------------------------------------------------------------


def test_task_delete_by_the_reporter(team, team_task):
    services.task_delete(task=team_task, actor=team["member"])

    assert not Task.objects.filter(pk=team_task.pk).exists()


@pytest.mark.parametrize(
    ("role", "error"), [("viewer", exceptions.PermissionDenied), ("outsider", exceptions.NotFound)]
)
def test_task_delete_refuses(team, make_task, role, error):
    task = make_task(project=team["project"], reporter=team[role])

    with pytest.raises(error):
        services.task_delete(task=task, actor=team[role])

    assert Task.objects.filter(pk=task.pk).exists()


def test_task_delete_refuses_another_member(team, make_task):
    task = make_task(project=team["project"], reporter=team["admin"])

    with pytest.raises(exceptions.PermissionDenied):
        services.task_delete(task=task, actor=team["member"])

    assert Task.objects.filter(pk=task.pk).exists()


# --- watching and comments ---------------------------------------------------------------------


def test_task_watch_and_unwatch(team, team_task):
    services.task_watch(task=team_task, user=team["viewer"])
    services.task_watch(task=team_task, user=team["viewer"])
    assert watcher_ids(team_task) == {team["member"].pk, team["viewer"].pk}

    services.task_unwatch(task=team_task, user=team["viewer"])
    services.task_unwatch(task=team_task, user=team["viewer"])
    assert watcher_ids(team_task) == {team["member"].pk}


@pytest.mark.parametrize("action", [services.task_watch, services.task_unwatch])
def test_watching_is_hidden_from_outsiders(team, team_task, action):
    with pytest.raises(exceptions.NotFound):
        action(task=team_task, user=team["outsider"])

    assert watcher_ids(team_task) == {team["member"].pk}


def test_comment_create_makes_the_author_watch(team, team_task):
    comment = services.comment_create(task=team_task, author=team["owner"], body="Ping")

    assert (comment.task, comment.author, comment.body) == (team_task, team["owner"], "Ping")
    assert team["owner"].pk in watcher_ids(team_task)


@pytest.mark.parametrize(
    ("role", "error"), [("viewer", exceptions.PermissionDenied), ("outsider", exceptions.NotFound)]
)
def test_comment_create_refuses(team, team_task, role, error):
    with pytest.raises(error):
        services.comment_create(task=team_task, author=team[role], body="Hi")

    assert not Comment.objects.exists()
    assert team[role].pk not in watcher_ids(team_task)


# --- members leaving ---------------------------------------------------------------------------


def test_tasks_release_member_unassigns_and_unwatches_in_that_project_only(team):
    leaver = team["admin"]
    MembershipFactory(project=team["other_project"], user=leaver, role="member")
    here = [TaskFactory(project=team["project"], reporter=team["owner"], assignee=leaver) for _ in range(2)]
    kept_here = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"])
    there = TaskFactory(project=team["other_project"], reporter=team["outsider"], assignee=leaver)
    for task in [*here, kept_here, there]:
        TaskWatcher.objects.create(task=task, user=leaver)

    released = services.tasks_release_member(project=team["project"], user=leaver, actor=team["owner"])

    assert released == 2
    assert not Task.objects.filter(project=team["project"], assignee=leaver).exists()
    assert not TaskWatcher.objects.filter(task__project=team["project"], user=leaver).exists()
    kept_here.refresh_from_db()
    there.refresh_from_db()
    assert kept_here.assignee == team["member"]
    assert there.assignee == leaver
    assert TaskWatcher.objects.filter(task=there, user=leaver).exists()


def test_removing_a_member_through_the_api_unassigns_their_tasks(team, make_task, client_for):
    leaver = team["member"]
    assigned = make_task(project=team["project"], reporter=team["owner"], assignee=leaver)
    reported = make_task(project=team["project"], reporter=leaver, assignee=team["admin"])
    before = assigned.updated_at

    response = client_for(team["owner"]).delete(f"/api/projects/{team['project'].pk}/members/{leaver.pk}")

    assert response.status_code == 204
    assigned.refresh_from_db()
    reported.refresh_from_db()
    assert assigned.assignee is None
    assert assigned.updated_at > before
    # What they reported stays theirs, and stays assigned to whoever has it.
    assert reported.reporter == leaver
    assert reported.assignee == team["admin"]
    assert not TaskWatcher.objects.filter(task__project=team["project"], user=leaver).exists()
    # The others see the task unassigned, and it shows under ?assignee=none.
    client = client_for(team["admin"])
    assert client.get(f"/api/tasks/{assigned.pk}").json()["assignee"] is None
    unassigned = client.get("/api/tasks", {"assignee": "none"}).json()["results"]
    assert [t["id"] for t in unassigned] == [assigned.pk]


def test_a_member_leaving_on_their_own_is_unassigned_too(team, make_task, client_for):
    leaver = team["member"]
    task = make_task(project=team["project"], reporter=team["owner"], assignee=leaver)

    response = client_for(leaver).delete(f"/api/projects/{team['project'].pk}/members/{leaver.pk}")

    assert response.status_code == 204
    task.refresh_from_db()
    assert task.assignee is None
    assert client_for(leaver).get(f"/api/tasks/{task.pk}").status_code == 404


def test_a_refused_removal_keeps_the_assignment(team, make_task, client_for, db_snapshot):
    task = make_task(project=team["project"], reporter=team["owner"], assignee=team["admin"])
    before = db_snapshot()

    # A member cannot remove anyone else.
    response = client_for(team["member"]).delete(f"/api/projects/{team['project'].pk}/members/{team['admin'].pk}")

    assert response.status_code == 403
    assert db_snapshot() == before
    task.refresh_from_db()
    assert task.assignee == team["admin"]


def test_a_user_deleted_from_the_system_leaves_tasks_unassigned(team, make_task):
    gone = UserFactory()
    MembershipFactory(project=team["project"], user=gone, role="member")
    task = make_task(project=team["project"], reporter=gone, assignee=gone)

    gone.delete()

    task.refresh_from_db()
    assert (task.assignee, task.reporter) == (None, None)
