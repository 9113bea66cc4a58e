"""Registered last: free text, unknown commands and anything else get the help text, never
silence; a button nobody handles (an old keyboard) gets an answer too."""

from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from taskflow_bot import formatting
from taskflow_bot.i18n import _
from taskflow_bot.telegram_io import answer_callback

router = Router(name="fallback")


@router.message()
async def anything_else(message: Message, account: dict[str, Any] | None) -> None:
    await message.answer(formatting.help_text(account))


@router.callback_query()
async def unknown_button(callback: CallbackQuery) -> None:
    await answer_callback(callback, _("This button no longer works."), alert=True)
