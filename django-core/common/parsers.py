"""The API's JSON parser: DRF's, with the nesting depth bounded.

Python's json module recurses once per level, so a body of a few thousand `[` (well under the
size limit, DATA_UPLOAD_MAX_MEMORY_SIZE) raised RecursionError, a 500. No request of this API
nests more than a few levels; anything past JSON_MAX_DEPTH is a 400 `{"detail", "code"}`.
"""

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class JSONTooDeep(exceptions.ParseError):
    default_code = "json_too_deep"


def _too_deep() -> JSONTooDeep:
    return JSONTooDeep(
        _("The JSON body is nested more than %(depth)d levels deep.") % {"depth": settings.JSON_MAX_DEPTH}
    )


def json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in a parsed JSON value (a scalar is 0), without
    recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > settings.JSON_MAX_DEPTH:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise _too_deep() from exc
        if json_depth(data) > settings.JSON_MAX_DEPTH:
            raise _too_deep()
        return data
