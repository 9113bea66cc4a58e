from typing import cast

from rest_framework.request import Request

from accounts.models import User


def user_of(request: Request) -> User:
    """The signed-in user of a request that passed IsAuthenticated (the default permission)."""
    return cast(User, request.user)
