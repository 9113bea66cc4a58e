from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from telegram.models import TelegramBot, TelegramDelivery, TelegramLinkToken
from telegram.services import telegram_deliveries_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the services only; staff read it (and act through actions)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TelegramDelivery)
class TelegramDeliveryAdmin(ReadOnlyAdmin):
    """Every push to a chat and what became of it. Parked ones (failed, expired) carry the last
    error and can be put back on the bot's stream."""

    list_display = ["created_at", "event_type", "user", "status", "skip_reason", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "event_type", "created_at"]
    search_fields = ["event_id", "user__email", "chat_id"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    readonly_fields = [field.name for field in TelegramDelivery._meta.fields]
    actions = ["retry"]

    @admin.action(description=_("Send the selected parked deliveries again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[TelegramDelivery]) -> None:
        count = telegram_deliveries_retry(deliveries=queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery put back on the stream.", "%(count)d deliveries put back on the stream.", count
            )
            % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )


@admin.register(TelegramLinkToken)
class TelegramLinkTokenAdmin(ReadOnlyAdmin):
    """Link tokens (hashes only): who asked for a link, when it was used and for which chat."""

    list_display = ["user", "created_at", "expires_at", "used_at", "chat_id"]
    list_select_related = ["user"]
    readonly_fields = ["user", "created_at", "expires_at", "used_at", "chat_id"]
    exclude = ["token_hash"]


@admin.register(TelegramBot)
class TelegramBotAdmin(ReadOnlyAdmin):
    list_display = ["username", "updated_at"]
