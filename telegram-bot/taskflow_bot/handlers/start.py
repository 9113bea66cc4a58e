"""`/start <token>`: links this private chat to the account that asked for the link."""

import re
from typing import Any

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError
from taskflow_bot.i18n import _, negotiate, set_language

router = Router(name="start")

# Telegram's deep-link payload alphabet; anything else cannot be one of our tokens.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def token_error_text(code: str) -> str:
    how = _("Ask for a new link in the TaskFlow web client: Settings → Profile → Link Telegram.")
    if code == "token_expired":
        return _("This link has expired.") + " " + how
    if code == "token_used":
        return _("This link was used already.") + " " + how
    return _("This link is not valid.") + " " + how


@router.message(CommandStart(deep_link=True))
async def start_with_token(message: Message, command: CommandObject, core: CoreApi) -> None:
    if message.chat.type != ChatType.PRIVATE:
        await message.answer(_("Only a private chat can be linked: open a chat with me and press Start there."))
        return
    token = (command.args or "").strip()
    if not TOKEN_PATTERN.fullmatch(token):
        await message.answer(token_error_text("token_invalid"))
        return
    try:
        answer: dict[str, Any] = await core.link(message.chat.id, token)
    except CoreApiError as error:
        if error.code in {"token_invalid", "token_expired", "token_used", "invalid"}:
            await message.answer(token_error_text(error.code))
            return
        raise
    user = answer["user"]
    # From now on this chat speaks the account's language.
    set_language(negotiate(user.get("language"), message.from_user.language_code if message.from_user else None))
    await message.answer(formatting.greeting(user, moved=bool(answer.get("moved"))))
