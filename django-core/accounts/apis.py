from dataclasses import asdict

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.authentication import UserJWTAuthentication
from accounts.serializers import (
    AccountTokenSerializer,
    EmailVerifiedSerializer,
    LoginSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from common.http import user_of
from common.throttling import WriteRateThrottle, client_address


class AnonymousApi(APIView):
    """An endpoint that reads no bearer token. DRF turns a 401 into a 403 when a view has no
    authenticator to name in `WWW-Authenticate`; naming the API's bearer scheme keeps bad
    credentials and bad refresh tokens a 401."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return UserJWTAuthentication().authenticate_header(request)


class RegisterApi(AnonymousApi):
    # Anyone may register: accounts are created at a bounded rate per client address (429).
    throttle_classes = [WriteRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredSerializer})
    def post(self, request: Request) -> Response:
        if not settings.REGISTRATION_OPEN:
            raise exceptions.PermissionDenied(
                _("Registration is closed; ask an admin for an invite."), "registration_closed"
            )
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_create(
            email=data["email"],
            password=data["password"],
            name=data["name"],
            language=data.get("language", ""),
            timezone_name=data.get("timezone", "UTC"),
        )
        return Response(RegisteredSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginApi(AnonymousApi):
    @extend_schema(request=LoginSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.auth_login(**serializer.validated_data, client_address=client_address(request))
        return Response(asdict(pair))


class RefreshApi(AnonymousApi):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(asdict(services.auth_refresh(refresh=serializer.validated_data["refresh"])))


class LogoutApi(AnonymousApi):
    """Ends a session: the refresh token is blacklisted. Works with an expired access token, so
    it needs only the refresh token."""

    @extend_schema(request=RefreshSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(refresh=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    @extend_schema(responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(user_of(request)).data)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def patch(self, request: Request) -> Response:
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_update(
            user=user_of(request),
            name=data.get("name"),
            language=data.get("language"),
            timezone_name=data.get("timezone"),
        )
        return Response(UserSerializer(user).data)


class PasswordChangeApi(APIView):
    """Changes the password; every other session of the user ends, this one gets a fresh pair."""

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.user_change_password(user=user_of(request), **serializer.validated_data)
        return Response(asdict(pair))


class VerifyEmailApi(AnonymousApi):
    """Verifies the address a verification link was mailed to: the token is the credential."""

    @extend_schema(request=AccountTokenSerializer, responses={200: EmailVerifiedSerializer})
    def post(self, request: Request) -> Response:
        serializer = AccountTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.email_verify(token=serializer.validated_data["token"])
        return Response({"email_verified": True})


class VerifyEmailResendApi(APIView):
    """Mails the signed-in user another verification link (one a minute at most)."""

    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request) -> Response:
        services.email_verification_resend(user=user_of(request))
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetApi(AnonymousApi):
    """Asks for a password reset mail. Always 202: the answer says nothing about whether an
    account has the address."""

    @extend_schema(request=PasswordResetSerializer, responses={202: None})
    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(
            email=serializer.validated_data["email"], client_address=client_address(request)
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(AnonymousApi):
    """Sets a new password with a mailed reset token; every session of the account ends."""

    @extend_schema(request=PasswordResetConfirmSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
