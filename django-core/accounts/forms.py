"""The admin's sign-in form, checked by the same throttled credentials check as the API's login
(accounts.services.auth_authenticate): one lockout and one set of counters for both doors."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from rest_framework import exceptions

from accounts import services
from common.throttling import client_address


class AdminLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or password is None or self.request is None:
            return self.cleaned_data
        try:
            self.user_cache = services.auth_authenticate(
                email=email, password=password, client_address=client_address(self.request)
            )
        except exceptions.Throttled as exc:
            raise forms.ValidationError(str(exc.detail), code="throttled") from exc
        except exceptions.APIException as exc:
            if exc.status_code == 503:
                raise forms.ValidationError(str(exc.detail), code="unavailable") from exc
            raise self.get_invalid_login_error() from exc
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
