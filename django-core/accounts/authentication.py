from typing import Any, cast

from django.utils import translation
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import get_md5_hash_password
from taskflow_contracts.logs import user_id_var

from accounts.models import User
from accounts.selectors import user_get_by_id
from common.translation import accept_language, supported_language


class UserJWTAuthentication(JWTAuthentication):
    """Bearer access tokens (EdDSA, audience `api`). Once the user is known, a request whose
    `Accept-Language` names no supported language (or is absent) is answered in the user's own
    language (DESIGN.md: header, else the user's language, else English); this is the first
    point where the user is known. LocaleMiddleware reports the result in `Content-Language`."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            # Every line logged from here to the end of the request names the user
            # (common.observability.http resets it when the request ends).
            user_id_var.set(result[0].pk)
        if result is not None and accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")) is None:
            language = supported_language(cast(User, result[0]).language)
            if language is not None:
                translation.activate(language)
                request._request.LANGUAGE_CODE = language
        return result

    def get_user(self, validated_token: Token) -> Any:  # an accounts.models.User
        """simplejwt's checks (the user exists and is active, the token's password-hash claim is
        the current password's) on the row read by accounts.selectors.user_get_by_id: the ORM's
        `objects.get` cost ~1 ms of every authenticated request, the lookup ~0.2 ms. Still read
        on every request, so deactivation and a password change revoke at once. A token that
        fails them goes through simplejwt's own lookup, which refuses it in its own words."""
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        # simplejwt writes the claim as a string (Token.for_user: str(user.pk)).
        if type(user_id) is str and user_id.isascii() and user_id.isdigit() and len(user_id) <= 18:
            user_id = int(user_id)
        user = user_get_by_id(user_id=user_id) if type(user_id) is int else None
        if (
            user is not None
            and (user.is_active or not api_settings.CHECK_USER_IS_ACTIVE)
            and (
                not api_settings.CHECK_REVOKE_TOKEN
                or validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) == get_md5_hash_password(user.password)
            )
        ):
            return user
        return super().get_user(validated_token)
