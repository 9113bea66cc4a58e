from django.conf import settings


def translated_field_names(*fields: str) -> list[str]:
    """The per-language columns of translated fields: `title` → `title_en`, `title_ru`, …"""
    return [f"{field}_{language}" for field in fields for language in settings.MODELTRANSLATION_LANGUAGES]
