"""Query parameters of the list endpoints: one an endpoint does not know is a 400, never silently
ignored (`?priority=high` on an endpoint without that filter would otherwise answer as if it had
filtered). The known ones are the pagination's, the filter set's and any the view declares."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils.translation import ngettext
from django_filters import FilterSet
from rest_framework import exceptions, status
from rest_framework.pagination import BasePagination
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _ApiView = APIView
else:
    _ApiView = object

# A name is echoed in the error; a pathological one is cut there, not in what is checked.
_NAME_SHOWN_MAX = 50

# For the OpenAPI description of each list operation (the schema documents no 4xx responses).
UNKNOWN_PARAMETER_NOTE = (
    "A query parameter not listed here is refused: 400 "
    '`{"detail": "Unknown query parameter: …", "code": "unknown_parameter"}`.'
)


class UnknownQueryParameter(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Unknown query parameter."
    default_code = "unknown_parameter"


def pagination_query_parameters(pagination_class: type[BasePagination] | None) -> list[str]:
    """`page` and `page_size` for common.pagination.PageNumberPagination (whatever names a
    pagination class reads)."""
    if pagination_class is None:
        return []
    names = (getattr(pagination_class, attribute, None) for attribute in _PAGINATION_PARAMETER_ATTRIBUTES)
    return [name for name in names if name]


_PAGINATION_PARAMETER_ATTRIBUTES = (
    "page_query_param",
    "page_size_query_param",
    "limit_query_param",
    "offset_query_param",
    "cursor_query_param",
)


def known_query_parameters(
    *,
    pagination_class: type[BasePagination] | None = None,
    filterset_class: type[FilterSet] | None = None,
    declared: Iterable[str] = (),
) -> list[str]:
    """The pagination's parameters, then the filter set's, then the declared ones, each once."""
    names = [
        *pagination_query_parameters(pagination_class),
        *(filterset_class.base_filters if filterset_class is not None else ()),
        *declared,
    ]
    return list(dict.fromkeys(names))


def query_parameters_check(request: Request, *, known: Iterable[str]) -> None:
    """UnknownQueryParameter (400 `unknown_parameter`) naming every parameter of the request
    that is not in `known`, and listing the known ones."""
    known = list(known)
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return
    shown = ", ".join(name if len(name) <= _NAME_SHOWN_MAX else name[:_NAME_SHOWN_MAX] + "…" for name in unknown)
    detail = ngettext(
        "Unknown query parameter: %(names)s. Known: %(known)s.",
        "Unknown query parameters: %(names)s. Known: %(known)s.",
        len(unknown),
    ) % {"names": shown, "known": ", ".join(known)}
    raise UnknownQueryParameter(detail)


class KnownQueryParametersMixin(_ApiView):
    """For a list API (an APIView with `pagination_class`): a GET with a query parameter other
    than the pagination's, those of `query_filterset` (a django-filter FilterSet the view
    applies) and `query_parameters` (read by the view itself) is a 400, after authentication
    and before any work. Other methods of the view are not checked."""

    query_filterset: type[FilterSet] | None = None
    query_parameters: tuple[str, ...] = ()

    @classmethod
    def known_query_parameters(cls) -> list[str]:
        return known_query_parameters(
            pagination_class=getattr(cls, "pagination_class", None),
            filterset_class=cls.query_filterset,
            declared=cls.query_parameters,
        )

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            query_parameters_check(request, known=self.known_query_parameters())
