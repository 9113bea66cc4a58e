"""`/mytasks`: my open tasks, 5 a page, with status buttons (`mt:<page>:<task>:<status>`) and
page buttons (`mp:<page>`). A press changes the status through django-core, then the message is
edited to show the page as it is now."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Chat, Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError
from taskflow_bot.i18n import _
from taskflow_bot.middlewares import LinkRequiredMiddleware
from taskflow_bot.telegram_io import (
    NO_PREVIEW,
    answer_callback,
    callback_message,
    callback_parts,
    edit_message,
    int_part,
)

router = Router(name="tasks")
router.message.middleware(LinkRequiredMiddleware())
router.callback_query.middleware(LinkRequiredMiddleware())

# The answers django-core gives for a press the user may not make; told, not raised.
EXPECTED_CODES = {"not_found", "permission_denied", "insufficient_role", "invalid"}


@router.message(Command("mytasks"))
async def my_tasks(message: Message, core: CoreApi) -> None:
    text, markup = formatting.my_tasks(await core.tasks(message.chat.id, 1))
    await message.answer(text, reply_markup=markup, link_preview_options=NO_PREVIEW)


async def _show_page(callback: CallbackQuery, core: CoreApi, chat: Chat, page: int) -> None:
    answer = await core.tasks(chat.id, page)
    pages = int(answer.get("pages") or 1)
    if page > pages >= 1:
        # The last task of the last page left the list (done, reassigned): show the new last page.
        answer = await core.tasks(chat.id, pages)
    message = callback_message(callback)
    text, markup = formatting.my_tasks(answer)
    if message is not None:
        await edit_message(message, text, markup)
    elif callback.bot is not None:  # always set on updates the dispatcher feeds
        await callback.bot.send_message(chat.id, text, reply_markup=markup, link_preview_options=NO_PREVIEW)


@router.callback_query(F.data.startswith("mp:"))
async def turn_page(callback: CallbackQuery, core: CoreApi, event_chat: Chat) -> None:
    parts = callback_parts(callback, 1)
    page = int_part(parts[0]) if parts else None
    if not page:
        await answer_callback(callback, _("This button no longer works."), alert=True)
        return
    await _show_page(callback, core, event_chat, page)
    await answer_callback(callback)


@router.callback_query(F.data.startswith("mt:"))
async def change_status(callback: CallbackQuery, core: CoreApi, event_chat: Chat) -> None:
    parts = callback_parts(callback, 3)
    page = int_part(parts[0]) if parts else None
    task_id = int_part(parts[1]) if parts else None
    if parts is None or not page or not task_id:
        await answer_callback(callback, _("This button no longer works."), alert=True)
        return
    try:
        task = await core.set_task_status(event_chat.id, task_id, parts[2])
    except CoreApiError as error:
        if error.code not in EXPECTED_CODES:
            raise
        await answer_callback(callback, formatting.core_error_text(error.code, error.detail), alert=True)
        await _show_page(callback, core, event_chat, page)
        return
    await _show_page(callback, core, event_chat, page)
    title, status = formatting.escape(task.get("title")), formatting.escape(task.get("status_label"))
    await answer_callback(callback, _("%(title)s: %(status)s") % {"title": title, "status": status})
