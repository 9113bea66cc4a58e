from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from tests.django_core.accounts.paths import LOGIN_URL, ME_URL
from tests.django_core.factories import UserFactory

WRONG_PASSWORD = "not the password"


@pytest.mark.django_db
def test_login_answers_an_access_and_refresh_pair_that_works(login, bearer, user):
    response = login(user.email)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert bearer(body["access"]).get(ME_URL).json()["id"] == user.id


@pytest.mark.django_db
def test_login_records_last_login(login, user):
    assert user.last_login is None

    login(user.email)

    user.refresh_from_db()
    assert user.last_login is not None
    assert timezone.now() - user.last_login < timedelta(minutes=1)


@pytest.mark.django_db
def test_login_email_is_case_insensitive_and_trimmed(login, user):
    response = login(f"  {user.email.upper()} ")

    assert response.status_code == 200


@pytest.mark.django_db
def test_login_accepts_a_trailing_slash(post_json, user):
    response = post_json(f"{LOGIN_URL}/", {"email": user.email, "password": "correct horse battery"})

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.django_db
def test_login_with_wrong_password_is_401_invalid_credentials(login, user):
    response = login(user.email, WRONG_PASSWORD)

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "access" not in body


@pytest.mark.django_db
def test_login_with_unknown_email_is_indistinguishable_from_wrong_password(login, user):
    wrong_password = login(user.email, WRONG_PASSWORD)
    unknown_email = login("nobody@example.com", WRONG_PASSWORD)

    assert unknown_email.status_code == wrong_password.status_code == 401
    assert unknown_email.json() == wrong_password.json()
    assert unknown_email.json()["code"] == "invalid_credentials"
    assert unknown_email.headers.get("WWW-Authenticate") == wrong_password.headers.get("WWW-Authenticate")


@pytest.mark.django_db
def test_login_of_inactive_user_with_right_password_is_401(login):
    inactive = UserFactory(is_active=False)

    response = login(inactive.email)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"email": "a@example.com"}, {"password": "x"}])
def test_login_with_missing_fields_is_400_field_errors(post_json, body):
    response = post_json(LOGIN_URL, body)

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"} - set(body)


@pytest.mark.django_db
def test_login_with_non_string_fields_is_400_not_500(post_json):
    response = post_json(LOGIN_URL, {"email": ["a@example.com"], "password": {"x": 1}})

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


@pytest.mark.django_db
def test_failed_logins_are_counted(login, user):
    login(user.email, WRONG_PASSWORD)
    login(user.email, WRONG_PASSWORD)

    user.refresh_from_db()
    assert user.failed_login_count == 2
    assert user.locked_until is None


@pytest.mark.django_db
def test_one_failure_short_of_the_limit_does_not_lock(login, user):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        login(user.email, WRONG_PASSWORD)

    response = login(user.email)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.locked_until is None


@pytest.mark.django_db
def test_account_locks_after_max_failures_even_for_the_right_password(login, user):
    # given LOGIN_MAX_FAILURES wrong passwords in a row
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert login(user.email, WRONG_PASSWORD).status_code == 401

    # when the right password is sent
    response = login(user.email)

    # then the account is locked
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "account_locked"
    assert isinstance(body["detail"], str)
    assert "access" not in body
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= settings.LOGIN_LOCKOUT.total_seconds()
    assert retry_after >= settings.LOGIN_LOCKOUT.total_seconds() - 60


@pytest.mark.django_db
def test_lock_lasts_login_lockout(locked_user):
    expected_end = timezone.now() + settings.LOGIN_LOCKOUT

    assert abs((locked_user.locked_until - expected_end).total_seconds()) < 30


@pytest.mark.django_db
def test_attempts_during_a_lock_do_not_extend_it(login, locked_user):
    locked_until = locked_user.locked_until

    responses = [login(locked_user.email, WRONG_PASSWORD) for _ in range(3)]

    assert [response.status_code for response in responses] == [429, 429, 429]
    locked_user.refresh_from_db()
    assert locked_user.locked_until == locked_until


@pytest.mark.django_db
def test_lock_is_per_account(login, locked_user, other_user):
    response = login(other_user.email)

    assert response.status_code == 200


@pytest.mark.django_db
def test_login_works_again_once_the_lock_expires_and_the_counter_is_reset(login, locked_user):
    # given the lock ran out a second ago
    User.objects.filter(pk=locked_user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))

    response = login(locked_user.email)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    locked_user.refresh_from_db()
    assert locked_user.failed_login_count == 0
    assert locked_user.locked_until is None
    assert not locked_user.is_locked()


@pytest.mark.django_db
def test_after_an_expired_lock_a_single_failure_does_not_lock_again(login, locked_user):
    User.objects.filter(pk=locked_user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))

    failed = login(locked_user.email, WRONG_PASSWORD)
    then_right = login(locked_user.email)

    assert failed.status_code == 401
    assert failed.json()["code"] == "invalid_credentials"
    assert then_right.status_code == 200


@pytest.mark.django_db
def test_successful_login_resets_the_failure_counter(login, user):
    # given some failures, then a success
    for _ in range(3):
        login(user.email, WRONG_PASSWORD)
    assert login(user.email).status_code == 200
    user.refresh_from_db()
    assert user.failed_login_count == 0

    # then the limit counts from zero again: one short of it still does not lock
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        login(user.email, WRONG_PASSWORD)
    assert login(user.email).status_code == 200
