"""`/help` and `/start` without a token: greeting and the command list (how to link when the
chat is not linked)."""

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from taskflow_bot import formatting

router = Router(name="help")


@router.message(CommandStart())
@router.message(Command("help"))
async def show_help(message: Message, account: dict[str, Any] | None) -> None:
    await message.answer(formatting.help_text(account))
