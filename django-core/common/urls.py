from typing import Any

from django.urls import URLPattern, path


def optional_slash(route: str, view: Any, name: str | None = None) -> list[URLPattern]:
    """Patterns for `route` with and without a trailing slash: every API path accepts both
    (DESIGN.md). Django's own APPEND_SLASH redirect cannot do this for POST bodies."""
    return [path(route, view, name=name), path(f"{route}/", view)]
