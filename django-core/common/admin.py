"""The Django admin as one more caller of the services (docs/architecture.md, "Staff writes").

Admins of our models save, delete and act through service functions with `staff=True`. A
service's refusal (a DRF APIException: a broken invariant, a conflict) rolls the request's
transaction back and is shown to the staff user as an error instead of a server error."""

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from rest_framework import exceptions

T = TypeVar("T")


def refusal_text(exc: exceptions.APIException) -> str:
    """A service's refusal as one line for an admin message."""
    detail: Any = exc.detail
    if isinstance(detail, dict):
        items = [item for value in detail.values() for item in (value if isinstance(value, list) else [value])]
    elif isinstance(detail, list):
        items = detail
    else:
        items = [detail]
    return " ".join(str(item) for item in items)


def add_form_errors(form: forms.BaseForm, exc: exceptions.APIException) -> None:
    """A service's ValidationError as errors on the form's fields (else on the whole form)."""
    detail: Any = exc.detail
    if isinstance(detail, dict):
        for field, value in detail.items():
            for item in value if isinstance(value, list) else [value]:
                form.add_error(field if field in form.fields else None, str(item))
    else:
        form.add_error(None, refusal_text(exc))


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for context, changed through their own admin page or the API."""

    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceAdminMixin:
    """For ModelAdmins whose save_model/delete_model call services."""

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except exceptions.APIException as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except exceptions.APIException as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def call_each(self, request: HttpRequest, objects: Iterable[T], call: Callable[[T], object]) -> int:
        """Runs a service on each object (a bulk action): refusals are reported, the rest done.
        How many were done."""
        done = 0
        for obj in objects:
            try:
                call(obj)
            except exceptions.APIException as exc:
                self.message_user(request, f"{obj}: {refusal_text(exc)}", messages.ERROR)  # type: ignore[attr-defined]
            else:
                done += 1
        return done
