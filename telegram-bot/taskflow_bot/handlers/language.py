"""`/language`: a button per supported language (`lg:<code>`); the choice becomes the account's
language, and the answer is already in it."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Chat, Message

from taskflow_bot import formatting
from taskflow_bot.core_api import CoreApi, CoreApiError
from taskflow_bot.i18n import LANGUAGE_NAMES, _, negotiate, set_language, supported_languages
from taskflow_bot.middlewares import LinkRequiredMiddleware
from taskflow_bot.telegram_io import answer_callback, callback_message, callback_parts, edit_message

router = Router(name="language")
router.message.middleware(LinkRequiredMiddleware())
router.callback_query.middleware(LinkRequiredMiddleware())


@router.message(Command("language"))
async def choose_language(message: Message) -> None:
    await message.answer(_("Choose the language I speak with you:"), reply_markup=formatting.language_keyboard())


@router.callback_query(F.data.startswith("lg:"))
async def set_account_language(callback: CallbackQuery, core: CoreApi, event_chat: Chat) -> None:
    parts = callback_parts(callback, 1)
    code = parts[0] if parts else ""
    if code not in supported_languages():
        await answer_callback(callback, _("That language is not available."), alert=True)
        return
    try:
        user = await core.set_language(event_chat.id, code)
    except CoreApiError as error:
        if error.code != "invalid":
            raise
        # django-core may offer fewer languages than the bot speaks.
        await answer_callback(callback, _("That language is not available."), alert=True)
        return
    set_language(negotiate(user.get("language"), code))
    text = _("Done! From now on I speak %(language)s.") % {"language": LANGUAGE_NAMES.get(code, code)}
    message = callback_message(callback)
    if message is not None:
        await edit_message(message, text, formatting.language_keyboard())
    await answer_callback(callback, text)
