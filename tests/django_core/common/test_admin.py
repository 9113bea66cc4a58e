"""Every model has a working admin: changelist (with search and filters), add and change pages."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from tests.django_core.factories import CommentFactory, MembershipFactory, TaskFactory

OUR_APPS = {"accounts", "projects", "tasks"}


@pytest.fixture
def staff_client(db) -> Client:
    superuser = User.objects.create_superuser("root@example.com", "root-password-1")
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def some_data(db) -> None:
    task = TaskFactory()
    MembershipFactory(project=task.project, user=task.reporter)
    CommentFactory(task=task, author=task.reporter)


def our_models():
    return [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


def test_every_model_of_ours_is_registered():
    names = {model._meta.label for model in our_models()}

    assert {
        "accounts.User",
        "projects.Project",
        "projects.Membership",
        "projects.Invite",
        "tasks.Task",
        "tasks.Comment",
    } <= names


@pytest.mark.parametrize("model", our_models(), ids=lambda model: model._meta.label)
def test_admin_pages_render(staff_client, some_data, model):
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"

    changelist = staff_client.get(reverse(f"{prefix}_changelist"), {"q": "a"})
    add = staff_client.get(reverse(f"{prefix}_add"))

    assert changelist.status_code == 200
    assert add.status_code == 200
    obj = model._default_manager.first()
    if obj is not None:
        change = staff_client.get(reverse(f"{prefix}_change", args=[obj.pk]))
        assert change.status_code == 200
        assert escape(str(obj)) in change.content.decode()


def test_deactivate_action_signs_the_user_out_everywhere(staff_client, some_data):
    from rest_framework.test import APIClient

    from accounts.services import token_pair_for

    user = User.objects.exclude(is_superuser=True).first()
    refresh = token_pair_for(user).refresh

    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [user.pk]},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
    response = APIClient().post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401, response.json()


def test_the_outbox_changelist_shows_and_filters_what_the_relay_has_passed(staff_client):
    from notifications.models import OutboxEvent

    from tests.django_core.notifications.helpers import set_relay_watermark

    passed = OutboxEvent.objects.create(type="task.created", envelope={}, deliveries=[])
    waiting = OutboxEvent.objects.create(type="task.created", envelope={}, deliveries=[])
    set_relay_watermark(through=passed)
    url = reverse("admin:notifications_outboxevent_changelist")

    def shown(**query: str) -> dict[int, bool]:
        response = staff_client.get(url, query)
        assert response.status_code == 200
        return {row.pk: row.is_published for row in response.context["cl"].result_list}

    assert shown() == {passed.pk: True, waiting.pk: False}
    assert shown(published="yes") == {passed.pk: True}
    assert shown(published="no") == {waiting.pk: False}
