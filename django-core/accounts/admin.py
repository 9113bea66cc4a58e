from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import User

# Change-form fields saved by user_update, with its argument names.
_PROFILE = {"name": "name", "language": "language", "timezone": "timezone_name"}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "language", "timezone", "is_active", "is_staff", "locked_until", "date_joined"]
    list_filter = ["is_active", "is_staff", "language"]
    search_fields = ["email", "name"]
    readonly_fields = ["date_joined", "last_login", "failed_login_count"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("name", "language", "timezone", "telegram_chat_id")}),
        (_("Security"), {"fields": ("is_active", "locked_until", "failed_login_count", "last_login", "date_joined")}),
        (_("Permissions"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    actions = ["deactivate_users", "unlock_users"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Staff edits go through the services: name, language and timezone through user_update;
        unticking "active" through user_deactivate (tokens revoked, sockets closed); a new email
        through user_email_change_by_staff (unverified again, a link mailed to it). The other
        fields (staff flags, Telegram chat, lock) have no service and are saved as they are."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        changed = set(form.changed_data)
        deactivating = not obj.is_active and User.objects.filter(pk=obj.pk, is_active=True).exists()
        services.user_update(
            user=obj, **{arg: getattr(obj, field) for field, arg in _PROFILE.items() if field in changed}
        )
        if "email" in changed:
            services.user_email_change_by_staff(user=obj, email=obj.email)
        rest = changed - set(_PROFILE) - {"email", "is_active", "password", "groups", "user_permissions"}
        if "is_active" in changed and not deactivating:
            rest.add("is_active")
        if rest:
            obj.save(update_fields=sorted(rest))
        if deactivating:
            services.user_deactivate(user=obj, actor=request.user)  # type: ignore[arg-type]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """Django's password form, then every session of the user ended (tokens revoked,
        `user.revoked` so their sockets close) when it set or disabled the password."""
        with transaction.atomic():
            before = User.objects.filter(pk=unquote(id)).values_list("password", flat=True).first()
            response = super().user_change_password(request, id, form_url)
            user = User.objects.filter(pk=unquote(id)).first()
            if request.method == "POST" and user is not None and user.password != before:
                services.user_password_changed_by_staff(user=user, actor=request.user)  # type: ignore[arg-type]
        return response

    @admin.action(description=_("Deactivate and sign out everywhere"))
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset:
            services.user_deactivate(user=user, actor=request.user)  # type: ignore[arg-type]
            count += 1
        message = ngettext("%(count)d user deactivated.", "%(count)d users deactivated.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)

    @admin.action(description=_("Unlock after failed logins"))
    def unlock_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.users_unlock(users=queryset)
        message = ngettext("%(count)d user unlocked.", "%(count)d users unlocked.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)
