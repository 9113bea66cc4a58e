"""The internal API's caller: the bot, holding TELEGRAM_SERVICE_TOKEN (compared in constant
time), speaking for the chat named in `X-Telegram-Chat-Id` (taken by the bot from the update)."""

import hmac
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request


@dataclass(frozen=True)
class BotCaller:
    """request.user of an internal call: the bot itself, not an account."""

    chat_id: int | None
    is_authenticated: bool = True
    is_active: bool = True
    pk: None = None


class ServiceTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[BotCaller, None]:
        given = request.headers.get("X-Service-Token", "")
        if not given or not hmac.compare_digest(given.encode(), settings.TELEGRAM_SERVICE_TOKEN.encode()):
            raise exceptions.AuthenticationFailed(_("A valid service token is required."), "bad_service_token")
        raw_chat = request.headers.get("X-Telegram-Chat-Id")
        chat_id = None
        if raw_chat:
            try:
                chat_id = int(raw_chat)
            except ValueError:
                raise exceptions.ParseError(_("X-Telegram-Chat-Id must be an integer."), "bad_chat_id") from None
        return BotCaller(chat_id=chat_id), None

    def authenticate_header(self, request: Request) -> str:
        return "Service-Token"
