from typing import Any, cast

from django.utils import translation
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import User


class UserJWTAuthentication(JWTAuthentication):
    """Bearer access tokens (EdDSA, audience `api`). Once the user is known, a request that sent no
    `Accept-Language` is answered in the user's own language (DESIGN.md: header, else the user's
    language, else English); this is the first point where the user is known."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None and "HTTP_ACCEPT_LANGUAGE" not in request.META:
            user = cast(User, result[0])
            translation.activate(user.language)
            request._request.LANGUAGE_CODE = user.language
        return result
