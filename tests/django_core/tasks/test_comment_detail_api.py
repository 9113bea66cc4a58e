"""PATCH and DELETE /api/tasks/{id}/comments/{comment_id}: an author edits their comment; the
author or a project admin deletes it. Neither is news to anyone (no event); the task's history
keeps the comment's current text, or none once it is deleted."""

import pytest
from notifications.models import OutboxEvent

from projects.models import Membership, Role
from tasks.models import Comment, TaskActivity
from tests.django_core.factories import CommentFactory
from tests.django_core.tasks.conftest import NOT_FOUND


def comment_url(task, comment) -> str:
    return f"/api/tasks/{task.pk}/comments/{comment.pk}"


@pytest.fixture
def posted(team, team_task, client_for, django_capture_on_commit_callbacks):
    """A comment the member posted through the API (so the task's history has its entry)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).post(
            f"/api/tasks/{team_task.pk}/comments", {"body": "First draft"}, format="json"
        )
    assert response.status_code == 201
    return Comment.objects.get(pk=response.json()["id"])


def commented_entry(comment) -> TaskActivity:
    return TaskActivity.objects.get(task=comment.task, type="task.commented", data__comment__id=comment.pk)


# --- PATCH: edit ----------------------------------------------------------------------------------


def test_the_author_edits_their_comment(team, team_task, posted, client_for):
    response = client_for(team["member"]).patch(comment_url(team_task, posted), {"body": "Final text"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["task"], body["body"], body["edited"]) == (posted.pk, team_task.pk, "Final text", True)
    assert body["author"]["id"] == team["member"].pk
    posted.refresh_from_db()
    assert posted.body == "Final text"
    assert posted.edited_at is not None
    # and the comment list shows it edited too
    listed = client_for(team["viewer"]).get(f"/api/tasks/{team_task.pk}/comments").json()["results"]
    assert [(c["body"], c["edited"]) for c in listed] == [("Final text", True)]


def test_an_edit_is_news_to_nobody(team, team_task, posted, client_for, django_capture_on_commit_callbacks):
    before = OutboxEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).patch(comment_url(team_task, posted), {"body": "Quiet"}, format="json")

    assert response.status_code == 200
    assert OutboxEvent.objects.count() == before


def test_the_history_entry_follows_the_edit(team, team_task, posted, client_for):
    client_for(team["member"]).patch(comment_url(team_task, posted), {"body": "Second thoughts"}, format="json")

    entry = commented_entry(posted)
    assert entry.data["comment"] == {"id": posted.pk, "body": "Second thoughts", "author_id": team["member"].pk}
    shown = client_for(team["viewer"]).get(f"/api/tasks/{team_task.pk}/activity").json()["results"]
    assert [e["data"]["comment"]["body"] for e in shown if e["type"] == "task.commented"] == ["Second thoughts"]


def test_an_edit_to_the_same_text_changes_nothing(team, team_task, posted, client_for):
    response = client_for(team["member"]).patch(comment_url(team_task, posted), {"body": "First draft"}, format="json")

    assert response.status_code == 200
    assert response.json()["edited"] is False
    posted.refresh_from_db()
    assert posted.edited_at is None


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_nobody_else_edits_a_comment_not_even_the_owner(team, team_task, posted, client_for, role):
    response = client_for(team[role]).patch(comment_url(team_task, posted), {"body": "Not mine"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Only its author may edit a comment.", "code": "not_author"}
    posted.refresh_from_db()
    assert (posted.body, posted.edited_at) == ("First draft", None)


def test_another_member_cannot_edit_a_comment(team, team_task, posted, client_for, member_of, other_user):
    member_of(other_user, team["project"], Role.MEMBER)

    response = client_for(other_user).patch(comment_url(team_task, posted), {"body": "Not mine"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_author"
    posted.refresh_from_db()
    assert posted.body == "First draft"


def test_an_author_who_became_a_viewer_can_no_longer_edit(team, team_task, posted, client_for):
    Membership.objects.filter(project=team["project"], user=team["member"]).update(role=Role.VIEWER)

    response = client_for(team["member"]).patch(comment_url(team_task, posted), {"body": "Too late"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    posted.refresh_from_db()
    assert posted.body == "First draft"
    assert commented_entry(posted).data["comment"]["body"] == "First draft"


def test_an_outsider_gets_404_for_a_comment_of_a_project_they_are_not_in(team, team_task, posted, client_for):
    client = client_for(team["outsider"])

    assert client.patch(comment_url(team_task, posted), {"body": "x"}, format="json").json() == NOT_FOUND
    assert client.delete(comment_url(team_task, posted)).status_code == 404
    assert Comment.objects.get(pk=posted.pk).body == "First draft"


def test_a_comment_id_under_another_task_is_404(team, team_task, posted, make_task, client_for):
    # The author sees both tasks, but the comment is not the other task's.
    elsewhere = make_task(project=team["project"], reporter=team["member"])
    client = client_for(team["member"])

    edited = client.patch(comment_url(elsewhere, posted), {"body": "Moved?"}, format="json")
    deleted = client.delete(comment_url(elsewhere, posted))

    assert (edited.status_code, edited.json()) == (404, NOT_FOUND)
    assert deleted.status_code == 404
    assert Comment.objects.get(pk=posted.pk).body == "First draft"


def test_a_missing_comment_is_404(team, team_task, client_for):
    response = client_for(team["member"]).patch(
        f"/api/tasks/{team_task.pk}/comments/999999999", {"body": "x"}, format="json"
    )

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("payload", [{}, {"body": ""}, {"body": "  \n"}, {"body": None}, {"body": "x" * 10_001}])
def test_an_invalid_body_is_400_naming_body(team, team_task, posted, client_for, payload):
    response = client_for(team["member"]).patch(comment_url(team_task, posted), payload, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert Comment.objects.get(pk=posted.pk).body == "First draft"


def test_editing_needs_a_login(team_task, posted, api_client):
    assert api_client.patch(comment_url(team_task, posted), {"body": "x"}, format="json").status_code == 401


def test_the_detail_path_accepts_a_trailing_slash(team, team_task, posted, client_for):
    response = client_for(team["member"]).patch(
        comment_url(team_task, posted) + "/", {"body": "Slashed"}, format="json"
    )

    assert response.status_code == 200


# --- DELETE -------------------------------------------------------------------------------------


def test_the_author_deletes_their_comment_and_nobody_is_told(
    team, team_task, posted, client_for, django_capture_on_commit_callbacks
):
    before = OutboxEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).delete(comment_url(team_task, posted))

    assert response.status_code == 204
    assert not Comment.objects.filter(pk=posted.pk).exists()
    assert OutboxEvent.objects.count() == before


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_a_project_admin_or_owner_deletes_anyones_comment(team, team_task, posted, client_for, role):
    response = client_for(team[role]).delete(comment_url(team_task, posted))

    assert response.status_code == 204
    assert not Comment.objects.filter(pk=posted.pk).exists()


def test_another_member_cannot_delete_a_comment(team, team_task, posted, client_for, member_of, other_user):
    member_of(other_user, team["project"], Role.MEMBER)

    response = client_for(other_user).delete(comment_url(team_task, posted))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only its author or a project admin may delete a comment.",
        "code": "insufficient_role",
    }
    assert Comment.objects.filter(pk=posted.pk).exists()


def test_a_viewer_cannot_delete_even_their_own_old_comment(team, team_task, client_for):
    # written while a member, the author is a viewer now
    own = CommentFactory(task=team_task, author=team["viewer"], body="Back when I could")

    response = client_for(team["viewer"]).delete(comment_url(team_task, own))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert Comment.objects.filter(pk=own.pk).exists()


def test_the_history_keeps_a_deleted_comments_entry_without_its_text(team, team_task, posted, client_for):
    entry = commented_entry(posted)

    client_for(team["admin"]).delete(comment_url(team_task, posted))

    entry.refresh_from_db()
    assert entry.data["comment"] == {"id": posted.pk, "body": "", "author_id": team["member"].pk}
    shown = client_for(team["member"]).get(f"/api/tasks/{team_task.pk}/activity").json()["results"]
    commented = [e for e in shown if e["type"] == "task.commented"]
    assert [(e["message"], e["data"]["comment"]["body"]) for e in commented] == [("Member commented", "")]


def test_deleting_one_comment_leaves_the_others_and_their_history(
    team, team_task, posted, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        kept = client_for(team["admin"]).post(f"/api/tasks/{team_task.pk}/comments", {"body": "Keep me"}, format="json")

    client_for(team["member"]).delete(comment_url(team_task, posted))

    kept_comment = Comment.objects.get(pk=kept.json()["id"])
    assert list(Comment.objects.filter(task=team_task)) == [kept_comment]
    assert commented_entry(kept_comment).data["comment"]["body"] == "Keep me"


def test_deleting_needs_a_login(team_task, posted, api_client):
    assert api_client.delete(comment_url(team_task, posted)).status_code == 401
    assert Comment.objects.filter(pk=posted.pk).exists()
