"""Writes for the notification store and preferences."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification, NotificationPreference
from notifications.preferences import preferences_table


def notification_mark_read(*, notification: Notification) -> Notification:
    """Idempotent: a notification read already keeps its first `read_at`."""
    if not notification.is_read:
        with transaction.atomic():
            notification.is_read = True
            notification.read_at = timezone.now()
            notification.save(update_fields=["is_read", "read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    with transaction.atomic():
        return Notification.objects.filter(recipient=user, is_read=False).update(is_read=True, read_at=timezone.now())


def preferences_update(*, user: User, changes: dict[str, dict[str, bool]]) -> dict[str, dict[str, bool]]:
    """Stores the given event types' channels (a channel left out keeps its current value) and
    returns the full table. Types and their offered channels are validated by the caller
    (serializer)."""
    current = preferences_table(user_id=user.pk)
    with transaction.atomic():
        for event_type, channels in changes.items():
            # A channel the type is not delivered on is stored off (the column exists for all).
            merged = {"email": False, **current[event_type], **channels}
            NotificationPreference.objects.update_or_create(user=user, event_type=event_type, defaults=merged)
        if changes and not user.has_notification_preferences:
            user.has_notification_preferences = True
            user.save(update_fields=["has_notification_preferences"])
    return preferences_table(user_id=user.pk)


def notifications_prune_read(*, older_than: timedelta) -> int:
    """Deletes read notifications created longer ago than `older_than` (the clean-up job);
    unread ones stay until read."""
    deleted, _ = Notification.objects.filter(is_read=True, created_at__lt=timezone.now() - older_than).delete()
    return deleted
