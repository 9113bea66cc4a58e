import pytest

from tasks.models import Comment, TaskWatcher
from tests.django_core.factories import CommentFactory


def comments_url(task):
    return f"/api/tasks/{task.pk}/comments"


@pytest.mark.parametrize("role", ["member", "admin", "owner"])
def test_member_or_higher_comments(team, team_task, client_for, role):
    me = team[role]

    response = client_for(me).post(comments_url(team_task), {"body": "Looks good"}, format="json")

    assert response.status_code == 201
    body = response.json()
    comment = Comment.objects.get(pk=body["id"])
    assert (comment.task, comment.author, comment.body) == (team_task, me, "Looks good")
    assert body["task"] == team_task.pk
    assert body["author"] == {"id": me.pk, "name": me.name, "email": me.email}
    assert body["body"] == "Looks good"
    assert set(body) == {"id", "task", "author", "body", "created_at", "updated_at", "edited"}
    assert body["edited"] is False


def test_commenting_starts_watching(team, team_task, client_for):
    client = client_for(team["admin"])

    client.post(comments_url(team_task), {"body": "Watching now"}, format="json")

    assert TaskWatcher.objects.filter(task=team_task, user=team["admin"]).count() == 1
    assert client.get(f"/api/tasks/{team_task.pk}").json()["is_watching"] is True


def test_commenting_again_keeps_one_watch(team, team_task, client_for):
    client = client_for(team["member"])

    client.post(comments_url(team_task), {"body": "One"}, format="json")
    client.post(comments_url(team_task), {"body": "Two"}, format="json")

    assert TaskWatcher.objects.filter(task=team_task, user=team["member"]).count() == 1
    assert Comment.objects.filter(task=team_task).count() == 2


def test_viewer_cannot_comment(team, team_task, client_for, db_snapshot):
    before = db_snapshot()

    response = client_for(team["viewer"]).post(comments_url(team_task), {"body": "Hi"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


@pytest.mark.parametrize(
    "payload",
    [{}, {"body": ""}, {"body": "   \n\t"}, {"body": None}, {"body": "x" * 10_001}, {"body": ["a"]}, {"body": "a\x00"}],
)
def test_invalid_bodies_are_400_naming_body(team, team_task, client_for, db_snapshot, payload):
    before = db_snapshot()

    response = client_for(team["member"]).post(comments_url(team_task), payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert db_snapshot() == before


def test_a_body_of_exactly_10000_characters_is_accepted(team, team_task, client_for):
    response = client_for(team["member"]).post(comments_url(team_task), {"body": "x" * 10_000}, format="json")

    assert response.status_code == 201
    assert len(Comment.objects.get().body) == 10_000


def test_author_and_task_cannot_be_forged(team, team_task, make_task, client_for):
    elsewhere = make_task(project=team["project"], reporter=team["owner"])

    response = client_for(team["member"]).post(
        comments_url(team_task),
        {"body": "Mine", "author": team["owner"].pk, "task": elsewhere.pk},
        format="json",
    )

    assert response.status_code == 201
    comment = Comment.objects.get(pk=response.json()["id"])
    assert comment.author == team["member"]
    assert comment.task == team_task


@pytest.mark.parametrize("role", ["viewer", "member", "admin", "owner"])
def test_every_member_lists_comments_oldest_first(team, team_task, client_for, role):
    comments = [CommentFactory(task=team_task, author=team["member"], body=f"#{n}") for n in range(3)]
    CommentFactory(body="on another task")

    response = client_for(team[role]).get(comments_url(team_task))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert [c["id"] for c in body["results"]] == [c.pk for c in comments]
    assert [c["body"] for c in body["results"]] == ["#0", "#1", "#2"]
    assert body["results"][0]["author"]["id"] == team["member"].pk


def test_comments_are_paginated(team, team_task, client_for):
    CommentFactory.create_batch(5, task=team_task, author=team["member"])

    body = client_for(team["member"]).get(comments_url(team_task) + "/", {"page_size": 2, "page": 3}).json()

    assert body["count"] == 5
    assert len(body["results"]) == 1
    assert body["next"] is None


def test_a_comment_whose_author_was_deleted_shows_no_author(team, team_task, client_for, user):
    CommentFactory(task=team_task, author=user)
    user.delete()

    body = client_for(team["member"]).get(comments_url(team_task)).json()

    assert body["results"][0]["author"] is None


@pytest.mark.parametrize(("method", "payload"), [("get", None), ("post", {"body": "x"})])
def test_comments_of_a_missing_task_are_404(team, client_for, method, payload):
    response = getattr(client_for(team["member"]), method)("/api/tasks/999999999/comments", payload, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
