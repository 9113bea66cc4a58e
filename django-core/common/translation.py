from django.conf import settings
from django.utils.translation import get_supported_language_variant
from django.utils.translation.trans_real import parse_accept_lang_header


def translated_field_names(*fields: str) -> list[str]:
    """The per-language columns of translated fields, one per language of LANGUAGES:
    `title` → `title_en`, `title_ru`, `title_es`. Also for lookups: `task__title` → `task__title_en`, …"""
    return [f"{field}_{language}" for field in fields for language in settings.MODELTRANSLATION_LANGUAGES]


def supported_language(code: str) -> str | None:
    """`code` (or its generic form: `es-MX` → `es`) when it is one of LANGUAGES, else None."""
    try:
        return get_supported_language_variant(code)
    except LookupError:
        return None


def accept_language(header: str) -> str | None:
    """The preferred supported language of an `Accept-Language` header; None when it names none
    (absent, `*`, or only unsupported languages), so the user's own language applies."""
    for code, _quality in parse_accept_lang_header(header):
        if code != "*" and (language := supported_language(code)) is not None:
            return language
    return None
