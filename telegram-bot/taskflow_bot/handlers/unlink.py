"""`/unlink`: unlinks this chat from its account (no more notifications here)."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from taskflow_bot.core_api import CoreApi
from taskflow_bot.i18n import _
from taskflow_bot.middlewares import LinkRequiredMiddleware

router = Router(name="unlink")
router.message.middleware(LinkRequiredMiddleware())


@router.message(Command("unlink"))
async def unlink(message: Message, core: CoreApi, state: FSMContext) -> None:
    await core.unlink(message.chat.id)
    await state.clear()
    await message.answer(
        _(
            "This chat is no longer linked to your TaskFlow account; you will get no more "
            "notifications here. To link it again: Settings → Profile → Link Telegram."
        )
    )
