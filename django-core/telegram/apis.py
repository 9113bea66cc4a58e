"""The public side of the Telegram channel: asking for a deep link, and unlinking."""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.http import user_of
from telegram import services

LinkSerializer = inline_serializer(
    "TelegramLink", {"url": serializers.URLField(), "expires_in": serializers.IntegerField()}
)


class TelegramLinkApi(APIView):
    @extend_schema(
        request=None,
        responses={201: LinkSerializer, 503: OpenApiResponse(description="No Telegram bot is set up yet.")},
        description=(
            "A single-use `https://t.me/<bot>?start=<token>` deep link, valid at most 15 minutes; "
            "asking again revokes the previous one. 503 `telegram_unavailable` when no bot is set up."
        ),
    )
    def post(self, request: Request) -> Response:
        return Response(asdict(services.telegram_link_start(user=user_of(request))), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, description="Unlinks the Telegram chat (if any).")
    def delete(self, request: Request) -> Response:
        services.telegram_unlink(user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
