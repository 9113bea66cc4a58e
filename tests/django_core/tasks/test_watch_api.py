import pytest

from tasks.models import TaskWatcher


def watching(task, user):
    return TaskWatcher.objects.filter(task=task, user=user).exists()


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_any_member_may_watch_a_task(team, team_task, client_for, role):
    me = team[role]
    client = client_for(me)
    TaskWatcher.objects.filter(task=team_task, user=me).delete()

    response = client.post(f"/api/tasks/{team_task.pk}/watch")

    assert response.status_code == 204
    assert response.content == b""
    assert watching(team_task, me)
    detail = client.get(f"/api/tasks/{team_task.pk}").json()
    assert detail["is_watching"] is True
    assert me.pk in [w["id"] for w in detail["watchers"]]
    listed = client.get("/api/tasks").json()["results"][0]
    assert listed["is_watching"] is True


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_any_member_may_unwatch_a_task(team, team_task, client_for, role):
    me = team[role]
    client = client_for(me)
    TaskWatcher.objects.get_or_create(task=team_task, user=me)

    response = client.delete(f"/api/tasks/{team_task.pk}/watch")

    assert response.status_code == 204
    assert not watching(team_task, me)
    detail = client.get(f"/api/tasks/{team_task.pk}").json()
    assert detail["is_watching"] is False
    assert me.pk not in [w["id"] for w in detail["watchers"]]
    assert client.get("/api/tasks").json()["results"][0]["is_watching"] is False


def test_watching_twice_keeps_one_watch(team, team_task, client_for):
    client = client_for(team["viewer"])

    first = client.post(f"/api/tasks/{team_task.pk}/watch")
    second = client.post(f"/api/tasks/{team_task.pk}/watch/")

    assert first.status_code == second.status_code == 204
    assert TaskWatcher.objects.filter(task=team_task, user=team["viewer"]).count() == 1


def test_unwatching_a_task_i_do_not_watch_is_fine(team, team_task, client_for):
    response = client_for(team["admin"]).delete(f"/api/tasks/{team_task.pk}/watch/")

    assert response.status_code == 204
    assert not watching(team_task, team["admin"])


def test_the_reporter_may_stop_watching(team, team_task, client_for):
    response = client_for(team["member"]).delete(f"/api/tasks/{team_task.pk}/watch")

    assert response.status_code == 204
    assert not TaskWatcher.objects.filter(task=team_task).exists()


def test_watch_touches_only_my_own_watch(team, team_task, client_for):
    client_for(team["admin"]).post(f"/api/tasks/{team_task.pk}/watch")
    client_for(team["viewer"]).post(f"/api/tasks/{team_task.pk}/watch")

    client_for(team["viewer"]).delete(f"/api/tasks/{team_task.pk}/watch")

    watchers = set(TaskWatcher.objects.filter(task=team_task).values_list("user_id", flat=True))
    assert watchers == {team["member"].pk, team["admin"].pk}


def test_watchers_are_listed_in_id_order_with_public_fields_only(team, team_task, client_for):
    for role in ("viewer", "owner", "admin"):
        client_for(team[role]).post(f"/api/tasks/{team_task.pk}/watch")

    watchers = client_for(team["member"]).get(f"/api/tasks/{team_task.pk}").json()["watchers"]

    expected = sorted(team[r].pk for r in ("viewer", "owner", "admin", "member"))
    assert [w["id"] for w in watchers] == expected
    assert all(set(w) == {"id", "name", "email"} for w in watchers)


@pytest.mark.parametrize("method", ["post", "delete"])
def test_watch_on_a_missing_task_is_404(team, client_for, method):
    response = getattr(client_for(team["member"]), method)("/api/tasks/999999999/watch")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_watch_has_only_post_and_delete(team, team_task, client_for, method):
    response = getattr(client_for(team["member"]), method)(f"/api/tasks/{team_task.pk}/watch")

    assert response.status_code == 405
