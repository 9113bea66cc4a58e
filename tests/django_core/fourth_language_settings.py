"""config.settings plus a fourth language (German): adding a language is this LANGUAGES line (and
its catalogs and a migration); everything else derives from it. Used by
tests/django_core/common/test_fourth_language.py in a child process."""

from config.settings import *  # noqa: F403
from config.settings import LANGUAGES, modeltranslation_languages

LANGUAGES = [*LANGUAGES, ("de", "German")]
MODELTRANSLATION_LANGUAGES, MODELTRANSLATION_FALLBACK_LANGUAGES = modeltranslation_languages(LANGUAGES)
