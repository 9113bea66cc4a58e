"""Failed sign-ins are throttled per client address and per account (the email, whether or not
an account has it), in Redis windows that end by themselves; the admin's form is the same door."""

import time
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from common.redis import redis_client
from common.throttling import KEY_PREFIX
from tests.django_core.accounts.paths import LOGIN_URL
from tests.django_core.factories import DEFAULT_PASSWORD, UserFactory

WRONG_PASSWORD = "not the password"


def login_from(address: str, email: str, password: str = WRONG_PASSWORD) -> Any:
    return APIClient().post(LOGIN_URL, {"email": email, "password": password}, format="json", HTTP_X_REAL_IP=address)


@pytest.mark.django_db
def test_sixty_failures_for_unknown_emails_from_one_address_are_throttled(settings):
    responses = [login_from("203.0.113.7", f"nobody{n}@example.com") for n in range(60)]

    statuses = [response.status_code for response in responses]
    assert statuses[: settings.LOGIN_FAILURES_PER_ADDRESS] == [401] * settings.LOGIN_FAILURES_PER_ADDRESS
    assert set(statuses[settings.LOGIN_FAILURES_PER_ADDRESS :]) == {429}
    refused = responses[-1]
    assert refused.json()["code"] == "throttled"
    assert isinstance(refused.json()["detail"], str)
    assert 0 < int(refused["Retry-After"]) <= settings.LOGIN_THROTTLE_WINDOW
    # another address is not affected
    assert login_from("203.0.113.8", "nobody@example.com").status_code == 401


@pytest.mark.django_db
def test_the_right_password_is_refused_too_once_the_address_is_throttled(settings, user):
    for n in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        login_from("203.0.113.9", f"nobody{n}@example.com")

    assert login_from("203.0.113.9", user.email, DEFAULT_PASSWORD).status_code == 429
    assert login_from("203.0.113.10", user.email, DEFAULT_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_an_email_without_an_account_locks_like_one_with_an_account(settings, user):
    # given as many failures as the limits allow, each from its own address
    for n in range(settings.LOGIN_MAX_FAILURES):
        login_from(f"198.51.100.{n}", user.email)
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login_from(f"198.51.100.{n}", "ghost@example.com")

    # then both answer the same lock, from any address
    existing = login_from("198.51.100.200", user.email)
    ghost = login_from("198.51.100.200", "ghost@example.com")
    assert existing.status_code == ghost.status_code == 429
    assert existing.json()["code"] == ghost.json()["code"] == "account_locked"
    assert existing.json()["detail"].split(".")[0] == ghost.json()["detail"].split(".")[0]
    assert 0 < int(ghost["Retry-After"]) <= settings.LOGIN_THROTTLE_WINDOW


@pytest.mark.django_db
def test_a_throttle_is_a_cool_off_that_ends_with_its_window(settings, user):
    settings.LOGIN_THROTTLE_WINDOW = 2
    for n in range(settings.LOGIN_FAILURES_PER_ADDRESS + 5):
        login_from("203.0.113.20", f"nobody{n}@example.com")
    assert login_from("203.0.113.20", user.email, DEFAULT_PASSWORD).status_code == 429
    # every counter expires with its window
    for key in redis_client().keys(f"{KEY_PREFIX}login:*"):
        assert 0 < redis_client().pttl(key) <= 2000

    time.sleep(2.1)

    assert login_from("203.0.113.20", user.email, DEFAULT_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_successful_sign_ins_do_not_use_up_the_address_limit(settings):
    people = UserFactory.create_batch(3)

    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS // 3 + 1):
        for person in people:
            assert login_from("192.0.2.50", person.email, DEFAULT_PASSWORD).status_code == 200


@pytest.fixture
def redis_down(settings):
    """Points the process's Redis client at a port nothing listens on, for one test."""
    redis_client.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    yield
    redis_client.cache_clear()


@pytest.mark.django_db
def test_sign_in_fails_closed_with_a_503_when_redis_is_down(user, redis_down):
    response = login_from("192.0.2.60", user.email, DEFAULT_PASSWORD)

    assert response.status_code == 503
    assert response.json()["code"] == "throttle_unavailable"
    assert int(response["Retry-After"]) > 0
    assert "access" not in response.json()


@pytest.fixture
def staff(db) -> User:
    return UserFactory(is_staff=True, is_superuser=True)


def admin_login(client: Client, email: str, password: str, address: str = "192.0.2.70") -> Any:
    return client.post("/admin/login/", {"username": email, "password": password}, HTTP_X_REAL_IP=address)


@pytest.mark.django_db
def test_admin_login_does_not_take_unlimited_wrong_passwords(staff):
    client = Client()

    for _ in range(40):
        admin_login(client, staff.email, WRONG_PASSWORD)
    response = admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 200  # the form again, with an error: not signed in
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_admin_and_api_share_one_lockout(settings, staff):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        admin_login(Client(), staff.email, WRONG_PASSWORD)

    assert login_from("192.0.2.80", staff.email, DEFAULT_PASSWORD).json()["code"] == "account_locked"


@pytest.mark.django_db
def test_admin_login_still_signs_staff_in(staff):
    client = Client()

    response = admin_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_admin_login_refuses_non_staff_with_the_right_password(user):
    client = Client()

    response = admin_login(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
