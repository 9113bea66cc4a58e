"""The notification store over HTTP: list, unread count, mark read, mark all read."""

import pytest
from notifications.models import Notification

from tests.django_core.notifications.helpers import only_outbox

pytestmark = pytest.mark.django_db

LIST_URL = "/api/notifications"
COUNT_URL = "/api/notifications/unread-count"
READ_ALL_URL = "/api/notifications/read-all"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def read_url(notification: Notification) -> str:
    return f"/api/notifications/{notification.pk}/read"


def test_a_recipient_finds_the_event_in_their_list(crew, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).post(f"/api/tasks/{crew.task.pk}/comments", {"body": "Read me"}, format="json")
    row = only_outbox("task.commented")

    response = client_for(crew.watcher).get(LIST_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [item] = body["results"]
    stored = Notification.objects.get(recipient=crew.watcher)
    assert item == {
        "id": stored.pk,
        "event_id": str(row.event_id),
        "type": "task.commented",
        "message": "Owner commented on “Ship it”: Read me",
        "data": row.envelope["data"],
        "is_read": False,
        "created_at": item["created_at"],
    }
    assert client_for(crew.owner).get(LIST_URL).json()["count"] == 0
    assert client_for(crew.outsider).get(LIST_URL).json()["count"] == 0


def test_the_list_is_newest_first_and_paginated(user, client_for, notifications_for):
    oldest, middle, newest = notifications_for(user, 3)

    first = client_for(user).get(LIST_URL, {"page_size": 2})
    second = client_for(user).get(LIST_URL, {"page_size": 2, "page": 2})

    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [newest.pk, middle.pk]
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert [item["id"] for item in second.json()["results"]] == [oldest.pk]
    assert second.json()["next"] is None


def test_notifications_created_at_the_same_instant_are_newest_id_first(user, client_for, notifications_for):
    older, newer = notifications_for(user, 2)
    Notification.objects.filter(pk__in=[older.pk, newer.pk]).update(created_at=older.created_at)

    response = client_for(user).get(LIST_URL)

    assert [item["id"] for item in response.json()["results"]] == [newer.pk, older.pk]


@pytest.mark.parametrize("flag", ["true", "True", "1"])
def test_unread_true_lists_only_unread_ones(user, client_for, notifications_for, flag):
    read = notifications_for(user, 2, is_read=True)
    unread = notifications_for(user, 2)

    response = client_for(user).get(LIST_URL, {"unread": flag})

    ids = [item["id"] for item in response.json()["results"]]
    assert sorted(ids) == sorted(n.pk for n in unread)
    assert not set(ids) & {n.pk for n in read}


def test_without_unread_both_read_and_unread_are_listed(user, client_for, notifications_for):
    notifications_for(user, 1, is_read=True)
    notifications_for(user, 1)

    assert client_for(user).get(LIST_URL, {"unread": "false"}).json()["count"] == 2
    assert client_for(user).get(LIST_URL).json()["count"] == 2


def test_unread_count_counts_only_my_unread_ones(user, other_user, client_for, notifications_for):
    notifications_for(user, 3)
    notifications_for(user, 2, is_read=True)
    notifications_for(other_user, 4)

    response = client_for(user).get(COUNT_URL)

    assert response.status_code == 200
    assert response.json() == {"count": 3}


def test_marking_read_is_idempotent_and_keeps_the_first_read_at(user, client_for, notifications_for):
    [notification] = notifications_for(user, 1)
    client = client_for(user)

    first = client.patch(read_url(notification))
    notification.refresh_from_db()
    first_read_at = notification.read_at
    second = client.patch(f"{read_url(notification)}/")

    assert first.status_code == 200
    assert first.json()["is_read"] is True
    assert first.json()["id"] == notification.pk
    assert second.status_code == 200
    assert second.json() == first.json()
    notification.refresh_from_db()
    assert notification.is_read
    assert first_read_at is not None
    assert notification.read_at == first_read_at
    assert client.get(COUNT_URL).json() == {"count": 0}


def test_read_all_marks_my_unread_ones_and_says_how_many(user, other_user, client_for, notifications_for):
    [already_read] = notifications_for(user, 1, is_read=True)
    notifications_for(user, 3)
    [theirs] = notifications_for(other_user, 1)
    client = client_for(user)

    first = client.post(READ_ALL_URL)
    second = client.post(READ_ALL_URL)

    assert first.status_code == 200
    assert first.json() == {"updated": 3}
    assert second.json() == {"updated": 0}
    assert not Notification.objects.filter(recipient=user, is_read=False).exists()
    assert Notification.objects.get(pk=already_read.pk).read_at is None
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_another_users_notification_is_404_and_never_listed(user, other_user, client_for, notifications_for):
    [mine] = notifications_for(user, 1)
    [theirs] = notifications_for(other_user, 1)

    # Each tries the other's id.
    my_attempt = client_for(user).patch(read_url(theirs))
    their_attempt = client_for(other_user).patch(read_url(mine))

    assert (my_attempt.status_code, their_attempt.status_code) == (404, 404)
    assert my_attempt.json() == NOT_FOUND
    assert their_attempt.json() == NOT_FOUND
    assert Notification.objects.filter(pk__in=[mine.pk, theirs.pk], is_read=True).count() == 0
    assert [item["id"] for item in client_for(user).get(LIST_URL).json()["results"]] == [mine.pk]
    assert [item["id"] for item in client_for(other_user).get(LIST_URL).json()["results"]] == [theirs.pk]


def test_an_id_nobody_has_is_the_same_404(user, client_for):
    response = client_for(user).patch("/api/notifications/2000000000/read")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", LIST_URL), ("get", COUNT_URL), ("post", READ_ALL_URL), ("patch", "/api/notifications/1/read")],
)
def test_the_notification_endpoints_need_a_login(api_client, method, url):
    response = getattr(api_client, method)(url)

    assert response.status_code == 401


def test_a_page_past_the_end_is_404_and_an_empty_first_page_counts_zero(
    user, other_user, client_for, notifications_for
):
    notifications_for(user, 3)

    past = client_for(user).get(LIST_URL, {"page_size": 2, "page": 3})
    last = client_for(user).get(LIST_URL, {"page": "last", "page_size": 2})
    empty = client_for(other_user).get(LIST_URL)

    assert past.status_code == 404
    assert last.json()["count"] == 3
    assert len(last.json()["results"]) == 1
    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_unread_list_counts_only_unread_ones(user, client_for, notifications_for):
    notifications_for(user, 2, is_read=True)
    unread = notifications_for(user, 3)

    body = client_for(user).get(LIST_URL, {"unread": "true", "page_size": 2}).json()

    assert body["count"] == 3
    assert [item["id"] for item in body["results"]] == [unread[2].pk, unread[1].pk]


def test_the_representation_equals_the_declared_fields(user, notifications_for):
    """NotificationSerializer builds its output by hand; it must equal DRF's declared fields."""
    from notifications.serializers import NotificationSerializer
    from rest_framework import serializers

    notification = notifications_for(user, 1, data={"task": {"id": 7, "title": "Ünïcode"}})[0]
    notification.refresh_from_db()

    fast = NotificationSerializer(notification).data
    assert fast == serializers.ModelSerializer.to_representation(NotificationSerializer(), notification)
