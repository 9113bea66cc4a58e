"""The bot's internal API: the service token, the chat's account, and each chat-scoped call
going through the same selectors and services as the public API (permissions, events,
translations). Ids are swapped between users: another account's objects are 404."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from notifications.models import OutboxEvent

from projects.models import Invite, Membership, Role
from projects.services import invite_create
from tasks.models import Comment
from telegram.models import DeliveryStatus, TelegramDelivery
from tests.django_core.factories import TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("token", [None, "", "wrong", "dev-insecure-telegram-token-change-mX"])
def test_every_internal_call_needs_the_service_token(bot_client, user, linked, token):
    chat = linked(user)
    client = bot_client(chat_id=chat, token=token or "")
    if token is None:
        client.credentials(HTTP_X_TELEGRAM_CHAT_ID=str(chat))

    for method, path in [
        ("get", "/internal/telegram/chat"),
        ("get", "/internal/telegram/tasks"),
        ("post", "/internal/telegram/deliveries/claim"),
        ("put", "/internal/telegram/bot"),
    ]:
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 401, (path, response.content)


def test_a_user_token_is_not_a_service_token(client_for, user):
    assert client_for(user).get("/internal/telegram/tasks").status_code == 401


def test_an_unlinked_chat_is_told_so(bot_client):
    response = bot_client(chat_id=424242).get("/internal/telegram/tasks")

    assert response.status_code == 404
    assert response.json()["code"] == "not_linked"


def test_a_chat_call_without_a_chat_is_a_400(bot_client):
    assert bot_client().get("/internal/telegram/tasks").status_code == 400


def test_the_bot_reports_its_username(bot_client, client_for, user):
    reported = bot_client().put("/internal/telegram/bot", {"username": "@taskflow_bot"}, format="json")

    assert reported.status_code == 200
    assert reported.json() == {"languages": [code for code, _name in settings.LANGUAGES]}
    assert client_for(user).post("/api/telegram/link").json()["url"].startswith("https://t.me/taskflow_bot?start=")
    assert bot_client().put("/internal/telegram/bot", {"username": "a b"}, format="json").status_code == 400


def test_mytasks_lists_my_open_tasks_by_deadline_in_pages_in_my_language(team, bot_client, linked):
    member = team["member"]
    member.language = "ru"
    member.save(update_fields=["language"])
    chat = linked(member)
    now = timezone.now()
    later = TaskFactory(project=team["project"], assignee=member, deadline=now + timedelta(days=3), title="Later")
    soon = TaskFactory(project=team["project"], assignee=member, deadline=now + timedelta(days=1), title="Soon")
    undated = [TaskFactory(project=team["project"], assignee=member, title=f"Undated {i}") for i in range(4)]
    TaskFactory(project=team["project"], assignee=member, status="done", title="Done")
    TaskFactory(project=team["project"], assignee=team["admin"], title="Not mine")

    first = bot_client(chat_id=chat).get("/internal/telegram/tasks").json()
    second = bot_client(chat_id=chat).get("/internal/telegram/tasks", {"page": 2}).json()

    assert (first["count"], first["page"], first["pages"]) == (6, 1, 2)
    assert [t["id"] for t in first["results"]] == [soon.pk, later.pk, *[t.pk for t in undated[:3]]]
    assert [t["id"] for t in second["results"]] == [undated[3].pk]
    task = first["results"][0]
    assert task["status_label"] == "К выполнению"  # noqa: RUF001
    assert task["can_edit"] is True
    assert [s["value"] for s in task["statuses"]] == ["in_progress", "review", "done"]
    assert bot_client(chat_id=chat).get("/internal/telegram/tasks", {"page": "x"}).status_code == 400


def test_a_status_button_changes_the_task_through_the_service_and_emits_the_event(team, bot_client, linked):
    member = team["member"]
    chat = linked(member)
    task = TaskFactory(project=team["project"], assignee=member, reporter=team["owner"])

    response = bot_client(chat_id=chat).post(
        f"/internal/telegram/tasks/{task.pk}/status", {"status": "in_progress"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["task"]["status"] == "in_progress"
    task.refresh_from_db()
    assert task.status == "in_progress"
    event = OutboxEvent.objects.get(type="task.status_changed")
    assert event.envelope["actor"]["id"] == member.pk
    assert event.envelope["data"]["from"] == "todo"
    assert event.envelope["data"]["to"] == "in_progress"


def test_a_viewer_cannot_move_a_task_and_an_outsider_cannot_see_it(team, bot_client, linked):
    task = TaskFactory(project=team["project"], reporter=team["owner"])
    viewer_chat, outsider_chat = linked(team["viewer"]), linked(team["outsider"])

    as_viewer = bot_client(chat_id=viewer_chat).post(
        f"/internal/telegram/tasks/{task.pk}/status", {"status": "done"}, format="json"
    )
    as_outsider = bot_client(chat_id=outsider_chat).post(
        f"/internal/telegram/tasks/{task.pk}/status", {"status": "done"}, format="json"
    )
    bad_status = bot_client(chat_id=linked(team["member"])).post(
        f"/internal/telegram/tasks/{task.pk}/status", {"status": "nope"}, format="json"
    )

    assert as_viewer.status_code == 403
    assert as_outsider.status_code == 404
    assert bad_status.status_code == 400
    task.refresh_from_db()
    assert task.status == "todo"
    assert not OutboxEvent.objects.filter(type="task.status_changed").exists()


def test_a_comment_from_the_flow_and_from_a_reply_to_a_notification(team, bot_client, linked):
    member = team["member"]
    chat = linked(member)
    task = TaskFactory(project=team["project"], assignee=member, reporter=team["owner"])
    TelegramDelivery.objects.create(
        event_type="task.assigned",
        envelope={"data": {"task": {"id": task.pk}}},
        user=member,
        chat_id=chat,
        status=DeliveryStatus.SENT,
        queued_at=timezone.now(),
        message_id=501,
        sent_chat_id=chat,
    )

    flow = bot_client(chat_id=chat).post(
        f"/internal/telegram/tasks/{task.pk}/comments", {"body": "On it"}, format="json"
    )
    reply = bot_client(chat_id=chat).post(
        "/internal/telegram/replies", {"reply_to_message_id": 501, "body": "Done soon"}, format="json"
    )
    unknown = bot_client(chat_id=chat).post(
        "/internal/telegram/replies", {"reply_to_message_id": 999, "body": "?"}, format="json"
    )
    other_chat = bot_client(chat_id=linked(team["admin"])).post(
        "/internal/telegram/replies", {"reply_to_message_id": 501, "body": "not my message"}, format="json"
    )

    assert (flow.status_code, reply.status_code) == (201, 201)
    assert [c.body for c in Comment.objects.filter(task=task).order_by("id")] == ["On it", "Done soon"]
    assert all(c.author == member for c in Comment.objects.filter(task=task))
    assert OutboxEvent.objects.filter(type="task.commented").count() == 2
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_message")
    assert other_chat.status_code == 404
    empty = bot_client(chat_id=chat).post(f"/internal/telegram/tasks/{task.pk}/comments", {"body": "  "}, format="json")
    assert empty.status_code == 400


def test_projects_lists_mine_with_my_role_and_open_tasks(team, bot_client, linked):
    chat = linked(team["admin"])
    TaskFactory(project=team["project"])
    TaskFactory(project=team["project"], status="done")

    results = bot_client(chat_id=chat).get("/internal/telegram/projects").json()["results"]

    assert [(p["id"], p["role"], p["open_tasks"]) for p in results] == [(team["project"].pk, "admin", 1)]


def test_language_switch_changes_the_account_language(bot_client, user, linked):
    chat = linked(user)

    response = bot_client(chat_id=chat).put("/internal/telegram/language", {"language": "ru"}, format="json")

    assert response.json()["user"]["language"] == "ru"
    user.refresh_from_db()
    assert user.language == "ru"
    assert (
        bot_client(chat_id=chat).put("/internal/telegram/language", {"language": "xx"}, format="json").status_code
        == 400
    )


def test_an_invite_is_accepted_or_declined_by_its_invitee_only(team, bot_client, linked):
    invitee, stranger = UserFactory(), UserFactory()
    first = invite_create(project=team["project"], actor=team["owner"], email=invitee.email, role=Role.MEMBER).invite
    chat = linked(invitee)

    by_stranger = bot_client(chat_id=linked(stranger)).post(f"/internal/telegram/invites/{first.pk}/accept")
    accepted = bot_client(chat_id=chat).post(f"/internal/telegram/invites/{first.pk}/accept")
    again = bot_client(chat_id=chat).post(f"/internal/telegram/invites/{first.pk}/decline")

    assert by_stranger.status_code == 404
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["status"] == "accepted"
    assert Membership.objects.filter(project=team["project"], user=invitee, role=Role.MEMBER).exists()
    assert (again.status_code, again.json()["code"]) == (409, "invite_not_pending")
    assert Invite.objects.get(pk=first.pk).status == "accepted"


def test_claim_and_result_validate_their_input(bot_client):
    client = bot_client()
    assert client.post("/internal/telegram/deliveries/claim", {"ids": []}, format="json").status_code == 400
    assert client.post("/internal/telegram/deliveries/claim", {"ids": ["a"]}, format="json").status_code == 400
    assert client.post("/internal/telegram/deliveries/1/result", {"outcome": "sent"}, format="json").status_code == 400
    assert client.post("/internal/telegram/deliveries/1/result", {"outcome": "meh"}, format="json").status_code == 400
    missing = client.post("/internal/telegram/deliveries/99999/result", {"outcome": "blocked"}, format="json")
    assert missing.status_code == 404
