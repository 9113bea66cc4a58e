"""The bot's texts, through stdlib gettext, from the shared `locales/` directory.

Catalogs are `locales/<lang>/LC_MESSAGES/bot.mo` (domain `bot`, compiled from `bot.po` by
`make` or `msgfmt`); msgids are the English texts, so English needs no catalog. The language of
the update being handled lives in a ContextVar: aiogram handles each update in its own task, so
one chat's language never leaks into another's.

Never build a msgid at run time: `_("Hello, %(name)s") % {"name": ...}`, not an f-string inside
`_()`, or the catalogs cannot know it.
"""

import gettext as stdlib_gettext
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

DOMAIN = "bot"
SOURCE_LANGUAGE = "en"

# Each language's name in itself, for the /language buttons.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ru": "Русский", "es": "Español"}

logger = logging.getLogger(__name__)

_current_language: ContextVar[str] = ContextVar("bot_language", default=SOURCE_LANGUAGE)
_catalogs: dict[str, stdlib_gettext.NullTranslations] = {}
_supported: tuple[str, ...] = (SOURCE_LANGUAGE,)


def catalog_languages(locales_dir: Path) -> tuple[str, ...]:
    """English (the source language) and every language with a compiled bot catalog."""
    found = sorted(path.parent.parent.name for path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


def configure(locales_dir: Path, languages: tuple[str, ...] | None = None) -> None:
    """Loads the catalogs once, at start-up: `languages`, or every catalog there is. A missing
    catalog is logged, and that language then falls back to English rather than stopping the bot."""
    global _supported
    languages = languages or catalog_languages(locales_dir)
    _catalogs.clear()
    for code in languages:
        if code == SOURCE_LANGUAGE:
            _catalogs[code] = stdlib_gettext.NullTranslations()
            continue
        try:
            _catalogs[code] = stdlib_gettext.translation(DOMAIN, localedir=locales_dir, languages=[code])
        except FileNotFoundError:
            logger.warning("No %s catalog at %s/%s/LC_MESSAGES (run `make messages`)", DOMAIN, locales_dir, code)
            _catalogs[code] = stdlib_gettext.NullTranslations()
    _supported = tuple(languages)


def restrict(languages: list[str]) -> None:
    """Offers only the languages django-core supports (its LANGUAGES setting, the one list), of
    those the bot has catalogs for; English stays."""
    global _supported
    allowed = {code.lower() for code in languages}
    kept = tuple(code for code in _supported if code == SOURCE_LANGUAGE or code in allowed)
    missing = sorted(allowed - set(_supported))
    if missing:
        logger.warning("django-core supports %s, for which the bot has no catalog (English instead)", missing)
    _supported = kept


def supported_languages() -> tuple[str, ...]:
    return _supported


def negotiate(*candidates: str | None) -> str:
    """The first supported language among the candidates (an account's `language`, then
    Telegram's `language_code` such as `pt-br`), else the first configured language."""
    for candidate in candidates:
        if not candidate:
            continue
        code = candidate.strip().lower().replace("_", "-")
        for option in (code, code.split("-", 1)[0]):
            if option in _supported:
                return option
    return _supported[0]


def current_language() -> str:
    return _current_language.get()


def set_language(code: str) -> None:
    """Sets the language of the update being handled (the rest of its task)."""
    _current_language.set(negotiate(code))


@contextmanager
def use_language(code: str) -> Iterator[None]:
    """Texts in `code` inside the block (e.g. command menus for each language)."""
    token = _current_language.set(negotiate(code))
    try:
        yield
    finally:
        _current_language.reset(token)


def _catalog() -> stdlib_gettext.NullTranslations:
    return _catalogs.get(_current_language.get()) or stdlib_gettext.NullTranslations()


def gettext(message: str) -> str:
    return _catalog().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalog().ngettext(singular, plural, n)


class LazyText:
    """A text translated when it is turned into a string, in the language current then (for
    values defined at import time, such as the command descriptions)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return gettext(self.message)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"


def lazy_gettext(message: str) -> LazyText:
    return LazyText(message)


_ = gettext
__ = lazy_gettext
