"""Password reset by email: the request answers 202 for any address (no account enumeration) and
mails only existing accounts; the confirmation sets the password with Django's validators, spends
the token, and ends every session (refresh tokens blacklisted, `user.revoked` emitted)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from notifications.models import OutboxEvent

from accounts.models import AccountToken, AccountTokenPurpose, User
from accounts.services import account_token_issue, account_token_value, token_pair_for
from tests.django_core.accounts.paths import PASSWORD_RESET_CONFIRM_URL, PASSWORD_RESET_URL, REFRESH_URL
from tests.django_core.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "violet canyon ferry 77"


def _reset_token(user: User, **changes) -> str:
    row = account_token_issue(user=user, purpose=AccountTokenPurpose.PASSWORD_RESET, ttl=timedelta(hours=1))
    if changes:
        AccountToken.objects.filter(pk=row.pk).update(**changes)
    return account_token_value(salt=row.salt)


def test_a_reset_request_is_202_for_existing_and_unknown_addresses_alike(
    post_json, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as for_existing:
        existing = post_json(PASSWORD_RESET_URL, {"email": user.email.upper()})
    with django_capture_on_commit_callbacks() as for_unknown:
        unknown = post_json(PASSWORD_RESET_URL, {"email": "nobody@example.com"})

    assert (existing.status_code, unknown.status_code) == (202, 202)
    assert existing.content == unknown.content
    [row] = AccountToken.objects.all()
    assert (row.user_id, row.purpose) == (user.pk, AccountTokenPurpose.PASSWORD_RESET)
    assert timedelta(minutes=59) < row.expires_at - timezone.now() <= timedelta(hours=1)
    assert (len(for_existing), len(for_unknown)) == (1, 0)  # only the first enqueues a mail


def test_reset_mails_per_address_are_capped_silently(post_json, user, settings):
    answers = [post_json(PASSWORD_RESET_URL, {"email": user.email}).status_code for _ in range(5)]

    assert answers == [202] * 5
    assert AccountToken.objects.filter(user=user).count() == settings.PASSWORD_RESETS_PER_EMAIL


def test_reset_requests_from_one_client_address_are_throttled(post_json, settings):
    settings.PASSWORD_RESETS_PER_ADDRESS = 2
    answers = [post_json(PASSWORD_RESET_URL, {"email": f"n{i}@example.com"}) for i in range(3)]

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert int(answers[-1]["Retry-After"]) >= 1


def test_a_reset_request_validates_the_email(post_json):
    response = post_json(PASSWORD_RESET_URL, {"email": "not an email"})

    assert response.status_code == 400
    assert "email" in response.json()


def test_confirm_sets_the_password_and_revokes_every_session(
    post_json, login, user, django_capture_on_commit_callbacks
):
    old_refresh = token_pair_for(user).refresh
    token = _reset_token(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert login(user.email, DEFAULT_PASSWORD).status_code == 401
    assert login(user.email, NEW_PASSWORD).status_code == 200
    assert post_json(REFRESH_URL, {"refresh": old_refresh}).status_code == 401
    [event] = OutboxEvent.objects.filter(type="user.revoked")
    assert event.envelope["data"] == {"user_id": user.pk, "reason": "password_change"}


def test_a_reset_token_is_single_use(post_json, user):
    token = _reset_token(user)
    assert post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 204

    again = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": "another fine phrase 9"})

    assert again.status_code == 400
    assert again.json()["code"] == "token_used"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_reset_spends_the_users_other_reset_tokens(post_json, user):
    first, second = _reset_token(user), _reset_token(user)
    assert post_json(PASSWORD_RESET_CONFIRM_URL, {"token": second, "password": NEW_PASSWORD}).status_code == 204

    response = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": first, "password": "another fine phrase 9"})

    assert response.json()["code"] == "token_used"


def test_an_expired_reset_token_is_refused(post_json, user):
    token = _reset_token(user, expires_at=timezone.now() - timedelta(seconds=1))

    response = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert response.json()["code"] == "token_expired"
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_made_up_reset_token_is_refused(post_json):
    response = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": "made-up", "password": NEW_PASSWORD})

    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"


def test_a_weak_password_is_a_field_error_and_keeps_the_token(post_json, user):
    token = _reset_token(user)

    weak = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": "123"})

    assert weak.status_code == 400
    assert "password" in weak.json()
    assert post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 204


def test_a_reset_verifies_the_address_and_lifts_a_lock(post_json, locked_user):
    User.objects.filter(pk=locked_user.pk).update(email_verified_at=None)
    token = _reset_token(locked_user)

    assert post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD}).status_code == 204

    locked_user.refresh_from_db()
    assert not locked_user.is_locked()
    assert locked_user.email_verified


def test_a_deactivated_account_cannot_reset(post_json):
    gone = UserFactory(is_active=False)
    token = _reset_token(gone)

    response = post_json(PASSWORD_RESET_CONFIRM_URL, {"token": token, "password": NEW_PASSWORD})

    assert response.json()["code"] == "token_invalid"
