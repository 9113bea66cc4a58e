from typing import Any

from rest_framework import pagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (at most 100), answering `{count, next, previous, results}`."""

    page_size_query_param = "page_size"
    max_page_size = 100


def paginated_response(
    *, queryset: Any, serializer_class: type[Serializer[Any]], request: Request, view: APIView
) -> Response:
    """One page of `queryset`, serialized, in the standard list envelope."""
    paginator = PageNumberPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context={"request": request}).data)
