"""`/projects`: my projects, my role in each, and how many tasks are open."""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi
from taskflow_bot.middlewares import LinkRequiredMiddleware
from taskflow_bot.telegram_io import NO_PREVIEW

router = Router(name="projects")
router.message.middleware(LinkRequiredMiddleware())


@router.message(Command("projects"))
async def my_projects(message: Message, core: CoreApi) -> None:
    text = formatting.projects(await core.projects(message.chat.id))
    await message.answer(text, link_preview_options=NO_PREVIEW)
