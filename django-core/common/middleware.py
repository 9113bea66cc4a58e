from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.errors import database_unavailable


class DatabaseUnavailableMiddleware:
    """Turns a database outage outside DRF views (admin, sessions) into a 503 JSON answer
    instead of a 500 page. DRF views get the same through common.errors."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            error = database_unavailable()
            return JsonResponse({"detail": str(error.detail), "code": "database_unavailable"}, status=503)
        return None
