"""Clean-up jobs of the notification store and the outbox (scheduled in config/schedules.py)."""

from celery import shared_task
from django.conf import settings

from notifications.publisher import outbox_prune
from notifications.services import notifications_prune_read


@shared_task(name="notifications.prune_read")
def prune_read() -> int:
    return notifications_prune_read(older_than=settings.NOTIFICATION_RETENTION)


@shared_task(name="notifications.outbox_prune")
def prune_outbox() -> int:
    return outbox_prune(older_than=settings.OUTBOX_RETENTION)
