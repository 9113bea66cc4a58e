"""One JSON error shape for the whole API: `{"detail", "code"}` or field errors `{"field": [...]}`.

Never HTML, never a 500 for bad input; a database that is down is a 503 that says so.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.csrf import csrf_failure as django_csrf_failure
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A dependency is unavailable; try again shortly."
    default_code = "service_unavailable"


class BadRequest(exceptions.APIException):
    """A request that is well-formed but cannot be carried out as asked (not a field error)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request cannot be carried out."
    default_code = "bad_request"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def database_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(_("The database is unavailable; try again in a few seconds."), "database_unavailable")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler plus: Django's own exceptions mapped to JSON, `code` next to every `detail`,
    and database outages as 503 instead of 500."""
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or _("The request is malformed."))
    elif isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        exc = database_unavailable()
    elif isinstance(exc, DatabaseError):
        # Anything else from the database is a bug, not bad input: let it be a logged 500.
        return None

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, list):
        # A bare list of errors (e.g. a top-level ValidationError) gets the same shape as the rest.
        response.data = {"detail": response.data, "code": "invalid"}
    elif "detail" in response.data and "code" not in response.data:
        response.data["code"] = _error_code(exc)
    if response.data.get("code") == "not_found":
        # One answer for "does not exist" and "not yours": nothing about other projects leaks.
        response.data["detail"] = _("Not found.")
    return response


def _error_code(exc: Exception) -> str:
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, PermissionDenied):
        return "permission_denied"
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        return codes if isinstance(codes, str) else exc.default_code
    return "error"


def _json_error(status_code: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


# Django's own error views (outside DRF: unknown URLs, CSRF, crashes) answer JSON too.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(400, _("The request is malformed."), "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(403, _("You do not have permission to perform this action."), "permission_denied")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(404, _("Not found."), "not_found")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF failures (only session-authenticated pages such as the admin use CSRF): JSON under
    /api/, Django's own page elsewhere."""
    if request.path.startswith("/api/"):
        return _json_error(403, _("CSRF verification failed."), "csrf_failed")
    return django_csrf_failure(request, reason=reason)


def server_error(request: HttpRequest) -> JsonResponse:
    return _json_error(500, _("Internal server error; it has been logged."), "server_error")
