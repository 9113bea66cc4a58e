from django.conf import settings


def translated_field_names(*fields: str) -> list[str]:
    """The per-language columns of translated fields, one per language of LANGUAGES:
    `title` → `title_en`, `title_ru`, `title_es`. Also for lookups: `task__title` → `task__title_en`, …"""
    return [f"{field}_{language}" for field in fields for language in settings.MODELTRANSLATION_LANGUAGES]
