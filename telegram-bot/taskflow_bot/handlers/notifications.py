"""The buttons of pushes: a status (`ts:<task>:<status>`), "Comment" (`cm:<task>`, then the next
text message is the comment), and Accept/Decline of an invitation (`iv:<a|d>:<invite>`).

The push text is django-core's; after a press the bot appends one line saying what happened
(replacing its previous line) and rebuilds the buttons that changed.
"""

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError
from taskflow_bot.i18n import _
from taskflow_bot.middlewares import LinkRequiredMiddleware
from taskflow_bot.telegram_io import answer_callback, callback_message, callback_parts, edit_message, int_part

router = Router(name="notifications")
router.message.middleware(LinkRequiredMiddleware())
router.callback_query.middleware(LinkRequiredMiddleware())

EXPECTED_CODES = {"not_found", "permission_denied", "insufficient_role", "invalid"}


class CommentFlow(StatesGroup):
    writing = State()


def comment_posted_text(task: dict[str, object]) -> str:
    return _("Your comment is posted on “%(title)s”.") % {"title": formatting.escape(task.get("title"))}


@router.callback_query(F.data.startswith("ts:"))
async def change_status(callback: CallbackQuery, core: CoreApi, event_chat: Chat) -> None:
    parts = callback_parts(callback, 2)
    task_id = int_part(parts[0]) if parts else None
    if parts is None or not task_id:
        await answer_callback(callback, _("This button no longer works."), alert=True)
        return
    try:
        task = await core.set_task_status(event_chat.id, task_id, parts[1])
    except CoreApiError as error:
        if error.code not in EXPECTED_CODES:
            raise
        await answer_callback(callback, formatting.core_error_text(error.code, error.detail), alert=True)
        return
    message = callback_message(callback)
    if message is not None:
        await edit_message(
            message,
            formatting.push_with_status(message.html_text, task),
            formatting.push_keyboard_with_status(message.reply_markup, task),
        )
    await answer_callback(
        callback, _("Status changed to %(status)s.") % {"status": formatting.escape(task.get("status_label"))}
    )


@router.callback_query(F.data.startswith("cm:"))
async def start_comment(callback: CallbackQuery, state: FSMContext, event_chat: Chat) -> None:
    parts = callback_parts(callback, 1)
    task_id = int_part(parts[0]) if parts else None
    if not task_id:
        await answer_callback(callback, _("This button no longer works."), alert=True)
        return
    await state.set_state(CommentFlow.writing)
    await state.update_data(task_id=task_id)
    await answer_callback(callback)
    if callback.bot is not None:  # always set on updates the dispatcher feeds
        await callback.bot.send_message(event_chat.id, _("Send your comment as the next message, or /cancel."))


@router.message(CommentFlow.writing, F.text, ~F.text.startswith("/"))
async def post_comment(message: Message, state: FSMContext, core: CoreApi) -> None:
    data = await state.get_data()
    await state.clear()
    try:
        answer = await core.comment(message.chat.id, int(data["task_id"]), message.text or "")
    except CoreApiError as error:
        if error.code not in EXPECTED_CODES:
            raise
        await message.answer(formatting.core_error_text(error.code, error.detail))
        return
    await message.answer(comment_posted_text(answer["task"]))


@router.message(CommentFlow.writing, ~F.text)
async def comment_not_text(message: Message) -> None:
    await message.answer(_("A comment must be text. Send it as the next message, or /cancel."))


@router.callback_query(F.data.regexp(r"^iv:[ad]:\d{1,18}$"))
async def answer_invite(callback: CallbackQuery, core: CoreApi, event_chat: Chat) -> None:
    parts = callback_parts(callback, 2)
    assert parts is not None  # the filter matched the format
    accept = parts[0] == "a"
    try:
        answer = await core.answer_invite(event_chat.id, int(parts[1]), accept=accept)
    except CoreApiError as error:
        if error.code not in EXPECTED_CODES:
            raise
        await answer_callback(callback, formatting.core_error_text(error.code, error.detail), alert=True)
        return
    name = formatting.escape((answer.get("project") or {}).get("name"))
    if accept:
        note = _("You joined %(project)s.") % {"project": name}
    else:
        note = _("You declined the invitation to %(project)s.") % {"project": name}
    message = callback_message(callback)
    if message is not None:
        await edit_message(message, formatting.push_with_note(message.html_text, note), _without_invite(message))
    await answer_callback(callback, note)


def _without_invite(message: Message) -> InlineKeyboardMarkup | None:
    """The push's keyboard without its (now answered) Accept/Decline buttons."""
    markup = message.reply_markup
    rows = [
        kept
        for row in (markup.inline_keyboard if markup else [])
        if (kept := [b for b in row if not (b.callback_data or "").startswith("iv:")])
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
