"""Staff changes to an account in the Django admin end its sessions where they should: a new
password or deactivation blacklists every refresh token and emits `user.revoked`."""

from django.urls import reverse
from notifications.models import OutboxEvent
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.services import token_pair_for
from tests.django_core.factories import UserFactory


def _open_refresh_tokens(user: User) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


def _change_form(user: User, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "email": user.email,
        "name": user.name,
        "language": user.language,
        "timezone": user.timezone,
        "telegram_chat_id": "",
        "is_active": "on",
        "locked_until_0": "",
        "locked_until_1": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_an_admin_password_change_revokes_tokens_and_emits_user_revoked(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    user = UserFactory()
    token_pair_for(user)
    token_pair_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:auth_user_password_change", args=[user.pk]),
            {"password1": "a brand new secret 42", "password2": "a brand new secret 42", "usable_password": "true"},
        )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new secret 42")
    assert _open_refresh_tokens(user) == 0
    [event] = OutboxEvent.objects.all()
    assert event.type == "user.revoked"
    assert event.envelope["actor"]["id"] == admin_user.pk
    assert event.envelope["data"] == {"user_id": user.pk, "reason": "password_change"}


def test_a_refused_admin_password_change_revokes_nothing(admin_client):
    user = UserFactory()
    token_pair_for(user)

    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "a brand new secret 42", "password2": "something else", "usable_password": "true"},
    )

    assert response.status_code == 200
    assert _open_refresh_tokens(user) == 1
    assert not OutboxEvent.objects.exists()


def test_unticking_active_in_the_admin_revokes_tokens_and_emits_user_revoked(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    user = UserFactory()
    token_pair_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_user_change", args=[user.pk]), _change_form(user, is_active=None)
        )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert not user.is_active
    assert _open_refresh_tokens(user) == 0
    [event] = OutboxEvent.objects.all()
    assert (event.type, event.envelope["actor"]["id"], event.envelope["data"]["reason"]) == (
        "user.revoked",
        admin_user.pk,
        "deactivated",
    )


def test_the_deactivate_action_emits_user_revoked_by_the_staff_user(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    user = UserFactory()
    token_pair_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:accounts_user_changelist"), {"action": "deactivate_users", "_selected_action": [user.pk]}
        )

    assert _open_refresh_tokens(user) == 0
    [event] = OutboxEvent.objects.all()
    assert (event.type, event.envelope["actor"]["id"]) == ("user.revoked", admin_user.pk)


def test_profile_edits_go_through_user_update(admin_client, monkeypatch):
    from accounts import services

    calls = []
    real = services.user_update
    monkeypatch.setattr(services, "user_update", lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    user = UserFactory()

    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]),
        _change_form(user, name="Renamed", language="es", timezone="Europe/Madrid"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.name, user.language, user.timezone, user.is_active) == ("Renamed", "es", "Europe/Madrid", True)
    assert [sorted(call) for call in calls] == [["language", "name", "timezone_name", "user"]]
    assert not OutboxEvent.objects.exists()


def test_an_email_changed_by_staff_is_unverified_until_its_new_link_is_opened(admin_client):
    from accounts.models import AccountToken, AccountTokenPurpose

    user = UserFactory()
    assert user.email_verified

    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]), _change_form(user, email="New.Address@Example.com")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert user.email == "new.address@example.com"
    assert user.email_verified_at is None
    # and a verification link is on its way to the new address
    assert AccountToken.objects.filter(user=user, purpose=AccountTokenPurpose.VERIFY_EMAIL).count() == 1
