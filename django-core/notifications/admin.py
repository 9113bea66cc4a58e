from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from redis.exceptions import RedisError

from notifications.models import Notification, NotificationPreference, OutboxEvent
from notifications.publisher import outbox_publish_pending, outbox_published


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "type", "message", "is_read", "created_at"]
    list_filter = ["type", "is_read", "created_at"]
    search_fields = ["recipient__email", "message", "event_id"]
    readonly_fields = ["event_id", "type", "message", "data", "created_at", "read_at"]
    autocomplete_fields = ["recipient"]
    list_select_related = ["recipient"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "event_type", "web", "email", "telegram", "updated_at"]
    list_filter = ["event_type", "web", "email", "telegram"]
    search_fields = ["user__email"]
    autocomplete_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: NotificationPreference, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Emitting looks up stored preferences only for users marked as having some.
        type(obj.user).objects.filter(pk=obj.user_id).update(has_notification_preferences=True)


class PublishedFilter(admin.SimpleListFilter):
    title = "published"
    parameter_name = "published"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:  # type: ignore[type-arg]
        return [("yes", "Published"), ("no", "Waiting")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
        if self.value() == "yes":
            return queryset.filter(outbox_published())
        if self.value() == "no":
            return queryset.exclude(outbox_published())
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: the outbox is written by services and drained by the relay; staff can see what
    waits (and why) and push a publish by hand."""

    list_display = ["id", "type", "event_id", "created_at", "published", "attempts", "last_error"]
    list_filter = [PublishedFilter, "type"]
    search_fields = ["event_id"]
    actions = ["publish_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxEvent]:
        return super().get_queryset(request).annotate(is_published=outbox_published())

    @admin.display(boolean=True, description="published", ordering="is_published")
    def published(self, obj: OutboxEvent) -> bool:
        return bool(obj.is_published)  # type: ignore[attr-defined]  # the annotation above

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    @admin.action(description="Publish waiting events now (in order)")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        try:
            count = outbox_publish_pending()
        except RedisError as exc:
            self.message_user(request, f"Redis is unavailable: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{count} event(s) published.", messages.SUCCESS)
