from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from notifications.models import Notification


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    notifications = Notification.objects.filter(recipient=user).order_by("-created_at", "-id")
    return notifications.filter(is_read=False) if unread_only else notifications


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, is_read=False).count()


def notification_get(*, notification_id: int, user: User) -> Notification:
    """One of the user's notifications; NotFound for anyone else's."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is None:
        raise NotFound()
    return notification
