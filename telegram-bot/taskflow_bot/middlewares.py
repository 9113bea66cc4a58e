"""Cross-cutting concerns of every update: the linked account, the language, django-core being
down, and the "link first" answer for chats that are not linked.

Order on `dp.update` (outer): `CoreErrorMiddleware` → `AccountMiddleware` →
`LanguageMiddleware`; aiogram's own outer middlewares run before them and put `event_chat` and
`event_from_user` into the handler data. `LinkRequiredMiddleware` is an inner middleware of the
routers whose handlers need an account.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError, CoreUnavailable
from taskflow_bot.i18n import negotiate, set_language
from taskflow_bot.telegram_io import tell

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class CoreErrorMiddleware(BaseMiddleware):
    """django-core down (or failing) is a polite answer, never silence and never a crash."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        # The answer to an outage before the account is known: in Telegram's language.
        set_language(negotiate(user.language_code if user else None))
        try:
            return await handler(event, data)
        except CoreUnavailable as error:
            logger.warning("django-core unavailable while handling an update: %s", error)
            await tell(event, formatting.unavailable_text())
        except CoreApiError as error:
            # The handlers answer the codes they expect; anything else reaches the user as is.
            logger.warning("django-core refused a call: %s", error)
            await tell(event, formatting.core_error_text(error.code, error.detail))
        return None


class AccountMiddleware(BaseMiddleware):
    """`account` in the handler data: the linked account of the update's chat, or None."""

    def __init__(self, core: CoreApi) -> None:
        self._core = core

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        data["account"] = await self._core.chat(chat.id) if chat is not None else None
        return await handler(event, data)


class LanguageMiddleware(BaseMiddleware):
    """The account's language, else Telegram's `language_code` when supported, else the first
    supported language (English)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        account: dict[str, Any] | None = data.get("account")
        user: User | None = data.get("event_from_user")
        set_language(negotiate(account.get("language") if account else None, user.language_code if user else None))
        return await handler(event, data)


class LinkRequiredMiddleware(BaseMiddleware):
    """Handlers behind it run only for a linked chat; others are told how to link."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("account") is None:
            await tell(event, formatting.link_help())
            return None
        return await handler(event, data)
