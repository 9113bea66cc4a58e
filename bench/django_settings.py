"""Settings for the HTTP benchmark: the project's own, plus the bare comparison views' URLs."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.django_urls"
