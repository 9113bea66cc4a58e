from django.contrib import admin
from django.http import HttpRequest

from common.translation import translated_field_names
from reminders.models import DeadlineReminder


@admin.register(DeadlineReminder)
class DeadlineReminderAdmin(admin.ModelAdmin):
    """Which reminders were claimed and emitted (read-only: the scan writes them)."""

    list_display = ["task", "deadline", "kind", "status", "created_at", "processed_at"]
    list_filter = ["kind", "status"]
    search_fields = translated_field_names("task__title")
    list_select_related = ["task"]
    readonly_fields = ["task", "deadline", "kind", "status", "created_at", "processed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
