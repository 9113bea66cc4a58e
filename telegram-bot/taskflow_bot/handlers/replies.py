"""A reply to one of the bot's messages posts the reply as a comment on that message's task
(django-core knows which task a notification was about); a reply to anything else gets help."""

from typing import Any

from aiogram import Bot, F, Router
from aiogram.types import Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError
from taskflow_bot.handlers.notifications import EXPECTED_CODES, comment_posted_text
from taskflow_bot.middlewares import LinkRequiredMiddleware

router = Router(name="replies")
router.message.middleware(LinkRequiredMiddleware())


@router.message(F.reply_to_message, F.text, ~F.text.startswith("/"))
async def reply_as_comment(message: Message, bot: Bot, core: CoreApi, account: dict[str, Any]) -> None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
        await message.answer(formatting.help_text(account))
        return
    try:
        answer = await core.reply(message.chat.id, replied.message_id, message.text or "")
    except CoreApiError as error:
        if error.code == "unknown_message":
            await message.answer(formatting.help_text(account))
            return
        if error.code not in EXPECTED_CODES:
            raise
        await message.answer(formatting.core_error_text(error.code, error.detail))
        return
    await message.answer(comment_posted_text(answer["task"]))
