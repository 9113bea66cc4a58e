from django.contrib import admin
from django.http import HttpRequest

from mailing.models import EmailDelivery


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """The send log: every email and what became of it. Failed and retrying sends carry the SMTP
    error; filter by status to see them."""

    list_display = ["created_at", "kind", "to_email", "status", "attempts", "subject", "sent_at", "error"]
    list_filter = ["status", "kind", "created_at"]
    search_fields = ["to_email", "event_id", "subject", "message_id"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    readonly_fields = [field.name for field in EmailDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: EmailDelivery | None = None) -> bool:
        return False
