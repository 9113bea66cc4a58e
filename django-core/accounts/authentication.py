from typing import Any, cast

from django.utils import translation
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import User
from common.translation import accept_language, supported_language


class UserJWTAuthentication(JWTAuthentication):
    """Bearer access tokens (EdDSA, audience `api`). Once the user is known, a request whose
    `Accept-Language` names no supported language (or is absent) is answered in the user's own
    language (DESIGN.md: header, else the user's language, else English); this is the first
    point where the user is known. LocaleMiddleware reports the result in `Content-Language`."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None and accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")) is None:
            language = supported_language(cast(User, result[0]).language)
            if language is not None:
                translation.activate(language)
                request._request.LANGUAGE_CODE = language
        return result
