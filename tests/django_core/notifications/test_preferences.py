"""Preferences per event type and channel: the defaults, the API, and what they decide."""

import pytest
from notifications.models import Notification, NotificationPreference
from notifications.services import preferences_update
from taskflow_contracts import EVENT_TYPES

from accounts.services import token_pair_for
from tasks.models import Task
from tests.django_core.notifications.helpers import (
    NO_RECIPIENTS,
    assert_published,
    notified,
    only_outbox,
    others,
    pks,
    stream_entries,
)

pytestmark = pytest.mark.django_db

URL = "/api/notifications/preferences"
WEB_AND_EMAIL = {"web": True, "email": True, "telegram": False}
# Types that are not mailed offer no email channel at all (no toggle that does nothing).
WEB_ONLY = {"web": True, "telegram": False}
DEFAULTS = {
    "project.invited": WEB_AND_EMAIL,
    "project.member_joined": WEB_ONLY,
    "project.member_removed": WEB_ONLY,
    "project.member_role_changed": WEB_ONLY,
    "project.deleted": WEB_ONLY,
    "task.created": WEB_ONLY,
    "task.assigned": WEB_AND_EMAIL,
    "task.unassigned": WEB_ONLY,
    "task.status_changed": WEB_ONLY,
    "task.updated": WEB_ONLY,
    "task.commented": WEB_ONLY,
    "task.deleted": WEB_ONLY,
    "task.deadline_approaching": WEB_AND_EMAIL,
    "task.overdue": WEB_AND_EMAIL,
}


def comments_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}/comments"


def prefer(user, event_type: str, **channels: bool) -> None:
    # Through the service, as every write: it also marks the user as having preferences.
    preferences_update(user=user, changes={event_type: {"web": True, "email": False, "telegram": False, **channels}})


# --- The API --------------------------------------------------------------------------------------


def test_the_defaults_cover_every_user_facing_type(user, client_for):
    response = client_for(user).get(URL)

    assert response.status_code == 200
    assert response.json() == DEFAULTS
    # user.revoked is a system event: nobody can turn it off; a move within a column and a
    # project's new name only redraw boards and notify nobody, so they have no preference either.
    assert set(DEFAULTS) == set(EVENT_TYPES) - {"user.revoked", "task.moved", "project.updated"}


def test_a_partial_update_merges_with_what_was_there(user, other_user, client_for):
    client = client_for(user)

    first = client.put(URL, {"task.commented": {"telegram": True}}, format="json")
    second = client.put(URL, {"task.commented": {"web": False}, "task.assigned": {"telegram": True}}, format="json")

    assert first.status_code == 200
    assert first.json() == {**DEFAULTS, "task.commented": {"web": True, "telegram": True}}
    assert second.status_code == 200
    expected = {
        **DEFAULTS,
        "task.commented": {"web": False, "telegram": True},
        "task.assigned": {"web": True, "email": True, "telegram": True},
    }
    assert second.json() == expected
    assert client.get(URL).json() == expected
    assert client_for(other_user).get(URL).json() == DEFAULTS


def test_preferences_accept_a_trailing_slash(user, client_for):
    response = client_for(user).put(f"{URL}/", {"task.updated": {"web": False}}, format="json")

    assert response.status_code == 200
    assert response.json()["task.updated"] == {"web": False, "telegram": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task.exploded": {"web": True}}, "task.exploded"),
        ({"user.revoked": {"web": False}}, "user.revoked"),
        ({"task.commented": {"web": "sometimes"}}, "task.commented"),
        ({"task.commented": {"web": None}}, "task.commented"),
        ({"task.assigned": {"email": 2}}, "task.assigned"),
        ({"task.assigned": {"email": 1}}, "task.assigned"),
        # comments are not mailed: their email channel is not offered, on or off
        ({"task.commented": {"email": True}}, "task.commented"),
        ({"task.commented": {"email": False}}, "task.commented"),
        ({"task.commented": {"web": "true"}}, "task.commented"),
        ({"task.commented": {"web": "yes"}}, "task.commented"),
        ({"task.commented": {"sms": True}}, "task.commented"),
        ({"task.commented": True}, "task.commented"),
        ({"task.commented": ["web"]}, "task.commented"),
    ],
    ids=[
        "unknown-type",
        "system-type",
        "string",
        "null",
        "number",
        "one",
        "email-of-an-unmailed-type",
        "email-off-of-an-unmailed-type",
        "string-true",
        "string-yes",
        "unknown-channel",
        "not-an-object",
        "a-list",
    ],
)
def test_a_bad_update_is_400_and_changes_nothing(user, client_for, body, field):
    client = client_for(user)
    client.put(URL, {"task.updated": {"telegram": True}}, format="json")
    before = list(NotificationPreference.objects.values())

    # A valid change next to the bad one must not be stored either.
    response = client.put(URL, {"task.overdue": {"email": False}, **body}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert list(NotificationPreference.objects.values()) == before


@pytest.mark.parametrize("body", [[{"task.commented": {"web": True}}], "web", 7])
def test_a_body_that_is_not_an_object_is_400(user, client_for, body):
    response = client_for(user).put(URL, body, format="json")

    assert response.status_code == 400
    assert not NotificationPreference.objects.exists()


def test_preferences_need_a_login(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.put(URL, {"task.commented": {"web": False}}, format="json").status_code == 401


# --- What they decide -----------------------------------------------------------------------------


def test_by_default_assignment_goes_to_web_and_email_and_a_comment_to_web_only(
    crew, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(f"/api/tasks/{crew.task.pk}", {"assignee": crew.bystander.pk}, format="json")
        client_for(crew.owner).post(comments_url(crew.task), {"body": "Hi"}, format="json")

    assigned = only_outbox("task.assigned")
    audience = pks([crew.bystander, crew.assignee, crew.watcher, crew.commenter])
    assert assigned.recipients == {**NO_RECIPIENTS, "web": audience, "email": audience}
    commented = only_outbox("task.commented")
    everyone = pks([crew.reporter, crew.bystander, crew.assignee, crew.watcher, crew.commenter])
    assert commented.recipients == {**NO_RECIPIENTS, "web": everyone}


def test_web_off_means_no_notification_and_no_realtime_message_but_email_still_goes(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    # Given the reporter wants assignments by email and not in the app
    response = client_for(crew.reporter).put(URL, {"task.assigned": {"web": False, "email": True}}, format="json")
    assert response.status_code == 200
    listening = subscriber.listen(*crew.everyone)

    # When the task is given to someone else
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).patch(f"/api/tasks/{crew.task.pk}", {"assignee": crew.commenter.pk}, format="json")

    # Then the reporter is in the email channel only
    # (the old assignee's task.unassigned reaches the reporter in the app as usual)
    row = only_outbox("task.assigned")
    told = [crew.assignee, crew.watcher, crew.commenter]
    assert row.recipients["web"] == pks(told)
    assert crew.reporter.pk in row.recipients["email"]
    assert notified(row) == pks(told)
    assert not Notification.objects.filter(recipient=crew.reporter, type="task.assigned").exists()
    # The reporter's board still follows the assignment (a frame without a notification).
    assert_published(row, listening.receive(), to=told, board=others(crew.members, told))
    entries = [message for _cursor, message in stream_entries(crew.reporter)]
    assert [(m["event"]["type"], m["notification"] is None) for m in entries] == [
        ("task.assigned", True),
        ("task.unassigned", False),
    ]


def test_every_channel_off_leaves_the_user_out_of_the_event(crew, client_for, django_capture_on_commit_callbacks):
    prefer(crew.watcher, "task.status_changed", web=False, email=False, telegram=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(f"/api/tasks/{crew.task.pk}", {"status": "done"}, format="json")

    row = only_outbox("task.status_changed")
    assert row.recipients == {**NO_RECIPIENTS, "web": pks([crew.assignee, crew.commenter])}
    assert notified(row) == pks([crew.assignee, crew.commenter])
    # Still a member: the watcher's board gets the change, with no notification.
    assert {"user_id": crew.watcher.pk, "notification": None} in row.deliveries


def test_telegram_goes_only_to_linked_users_who_turned_it_on(crew, client_for, django_capture_on_commit_callbacks):
    linked_and_on, linked_by_default = crew.assignee, crew.watcher
    not_linked_but_on = crew.commenter
    for person, chat_id in ((linked_and_on, 1001), (linked_by_default, 1002)):
        person.telegram_chat_id = chat_id
        person.save(update_fields=["telegram_chat_id"])
    for person in (linked_and_on, not_linked_but_on):
        response = client_for(person).put(URL, {"task.commented": {"telegram": True}}, format="json")
        assert response.json()["task.commented"] == {"web": True, "telegram": True}

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).post(comments_url(crew.task), {"body": "Ping"}, format="json")

    row = only_outbox("task.commented")
    assert row.recipients["telegram"] == [linked_and_on.pk]
    assert row.recipients["web"] == pks(crew.involved)


def test_one_users_preference_changes_nobody_elses_channels(crew, client_for, django_capture_on_commit_callbacks):
    prefer(crew.watcher, "task.assigned", web=False, email=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).patch(f"/api/tasks/{crew.task.pk}", {"assignee": crew.commenter.pk}, format="json")

    row = only_outbox("task.assigned")
    others = pks([crew.reporter, crew.assignee, crew.commenter])
    assert row.recipients["email"] == others
    assert row.recipients["web"] == others


def test_a_preference_for_one_type_leaves_the_others_at_their_defaults(
    crew, client_for, django_capture_on_commit_callbacks
):
    prefer(crew.watcher, "task.commented", web=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(f"/api/tasks/{crew.task.pk}", {"status": "review"}, format="json")

    assert crew.watcher.pk in notified(only_outbox("task.status_changed"))


def test_system_events_ignore_preferences(user, api_client, django_capture_on_commit_callbacks):
    for event_type in DEFAULTS:
        prefer(user, event_type, web=False)

    with django_capture_on_commit_callbacks(execute=True):
        api_client.post("/api/auth/logout", {"refresh": token_pair_for(user).refresh}, format="json")

    assert only_outbox("user.revoked").deliveries == [{"user_id": user.pk, "notification": None}]


def _preference_queries(queries) -> int:
    return sum("notifications_notificationpreference" in q["sql"] for q in queries)


def test_an_event_looks_up_stored_preferences_only_for_users_who_have_some(
    team, client_for, django_capture_on_commit_callbacks
):
    # given a task whose audience (the member assignee) never stored a preference
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.django_core.factories import TaskFactory

    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"])
    owner = client_for(team["owner"])

    with CaptureQueriesContext(connection) as plain, django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/api/tasks/{task.pk}/comments", {"body": "one"}, format="json")
    prefer(team["member"], "task.commented", web=False)
    team["member"].refresh_from_db()
    with CaptureQueriesContext(connection) as customized, django_capture_on_commit_callbacks(execute=True):
        owner.post(f"/api/tasks/{task.pk}/comments", {"body": "two"}, format="json")

    assert _preference_queries(plain.captured_queries) == 0
    assert _preference_queries(customized.captured_queries) == 1
    # and the stored preference was honoured: web off, so the second comment stored nothing
    assert Notification.objects.filter(recipient=team["member"], type="task.commented").count() == 1
