from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import User
from tests.django_core.accounts.paths import LOGIN_URL
from tests.django_core.factories import DEFAULT_PASSWORD


@pytest.fixture
def post_json(api_client: APIClient) -> Callable[..., Response]:
    """POSTs a JSON body anonymously (the API parses JSON only)."""

    def post(url: str, body: Any) -> Response:
        return api_client.post(url, body, format="json")

    return post


@pytest.fixture
def login(post_json: Callable[..., Response]) -> Callable[..., Response]:
    """Logs in through the API; the default password is the factories' one."""

    def attempt(email: str, password: str = DEFAULT_PASSWORD) -> Response:
        return post_json(LOGIN_URL, {"email": email, "password": password})

    return attempt


@pytest.fixture
def bearer() -> Callable[[str], APIClient]:
    """A fresh API client that sends the given access token."""

    def make(access: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return make


@pytest.fixture
def locked_user(user: User, login: Callable[..., Response], settings: Any) -> User:
    """A user locked out by LOGIN_MAX_FAILURES wrong passwords in a row."""
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert login(user.email, "not the password").status_code == 401
    user.refresh_from_db()
    assert user.is_locked()
    return user
