"""Small helpers around aiogram calls the handlers share: answering whatever the update was,
editing a message in place, reading callback data."""

import html
import logging
import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Message, TelegramObject, Update

# Callback answers are plain text of at most 200 characters.
CALLBACK_ANSWER_LIMIT = 200
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

logger = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """HTML message text as plain text (for callback answers)."""
    return html.unescape(_TAG.sub("", text))


async def answer_callback(callback: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answers a button press; `text` is HTML like every other text here (user values escaped)
    and is shown as plain text."""
    if text is None:
        await callback.answer()
    else:
        await callback.answer(plain(text)[:CALLBACK_ANSWER_LIMIT], show_alert=alert)


async def tell(event: TelegramObject, text: str) -> None:
    """Answers a message with a message, a button press with an alert (so it is read)."""
    if isinstance(event, Update):
        event = event.event
    if isinstance(event, Message):
        await event.answer(text, link_preview_options=NO_PREVIEW)
    elif isinstance(event, CallbackQuery):
        await answer_callback(event, text, alert=True)


def callback_message(callback: CallbackQuery) -> Message | None:
    """The message the button is on, unless Telegram no longer gives it (too old)."""
    return callback.message if isinstance(callback.message, Message) else None


async def edit_message(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=markup, link_preview_options=NO_PREVIEW)
    except TelegramBadRequest as error:
        # Pressing a button whose result is already shown makes Telegram answer "message is
        # not modified": nothing to tell anyone. Other refusals (the message was deleted) cost
        # the user only the in-place update; the callback answer still says what happened.
        if "not modified" not in error.message:
            logger.warning("Could not edit message %s: %s", message.message_id, error.message)


def callback_parts(callback: CallbackQuery, count: int) -> list[str] | None:
    """`prefix:a:b…` split into exactly `count` parts after the prefix, else None."""
    parts = (callback.data or "").split(":")
    return parts[1:] if len(parts) == count + 1 and all(parts[1:]) else None


def int_part(value: str) -> int | None:
    return int(value) if value.isdecimal() and len(value) <= 18 else None
