from typing import Any


def drop_trailing_slash_duplicates(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """drf-spectacular preprocessing hook: every API path is routed with and without a trailing
    slash (common.urls.optional_slash); the schema documents the form without it, once."""
    paths = {endpoint[0] for endpoint in endpoints}
    return [e for e in endpoints if not (e[0].endswith("/") and e[0].rstrip("/") in paths)]
