from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.models import User


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
        """Unticking "active" in the form goes through the service: tokens revoked, sockets closed."""
        deactivating = change and not obj.is_active and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if deactivating:
            services.user_deactivate(user=obj, actor=request.user)  # type: ignore[arg-type]

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
