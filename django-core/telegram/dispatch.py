"""Hands committed events with Telegram recipients to the bot: one TelegramDelivery row per
recipient and one entry per delivery on the Redis stream the bot reads (TELEGRAM_STREAM, fields
`d` = delivery id, `c` = chat id). Called by the outbox relay every cycle (never by a request),
like mailing.dispatch for email; beat's sweep (telegram.tasks) puts back what stays pending."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from notifications.models import OutboxEvent

from accounts.models import User
from common.redis import redis_client
from telegram.models import PENDING_STATUSES, DeliveryStatus, TelegramDelivery

logger = logging.getLogger(__name__)


def stream_add(deliveries: Iterable[TelegramDelivery]) -> int:
    """Appends one stream entry per delivery, in one round trip; raises RedisError."""
    pipe = redis_client().pipeline(transaction=False)
    count = 0
    for delivery in deliveries:
        pipe.xadd(
            settings.TELEGRAM_STREAM,
            {"d": delivery.pk, "c": delivery.chat_id},
            maxlen=settings.TELEGRAM_STREAM_LENGTH,
            approximate=True,
        )
        count += 1
    if count:
        pipe.execute()
    return count


def telegram_dispatch_pending(limit: int = 200) -> int:
    """Creates the deliveries of up to `limit` undispatched outbox rows with Telegram recipients,
    in id order, puts them on the stream and marks the rows; returns how many rows.

    Rows are claimed FOR UPDATE SKIP LOCKED (two relays share the work), and all of it is one
    transaction: when Redis refuses the entries nothing is created or marked, and the next cycle
    tries again. A recipient who unlinked since the event gets no delivery."""
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(needs_telegram=True, telegram_dispatched_at__isnull=True)
            .order_by("id")
            .only("id", "event_id", "type", "envelope", "recipients")[:limit]
        )
        if not rows:
            return 0
        wanted = {user_id for row in rows for user_id in row.recipients.get("telegram", [])}
        chats = dict(
            User.objects.filter(pk__in=wanted, is_active=True, telegram_chat_id__isnull=False).values_list(
                "pk", "telegram_chat_id"
            )
        )
        now = timezone.now()
        deliveries = TelegramDelivery.objects.bulk_create(
            [
                TelegramDelivery(
                    event_id=row.event_id,
                    event_type=row.type,
                    envelope=row.envelope,
                    user_id=user_id,
                    chat_id=chats[user_id],
                    queued_at=now,
                )
                for row in rows
                for user_id in row.recipients.get("telegram", [])
                if user_id in chats
            ]
        )
        stream_add(deliveries)
        OutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).update(telegram_dispatched_at=now)
    logger.info("handed %d event(s) to the Telegram bot as %d deliveries", len(rows), len(deliveries))
    return len(rows)


def telegram_deliveries_sweep(*, batch: int = 500) -> dict[str, int]:
    """Beat's sweep: parks deliveries pending past TELEGRAM_DELIVERY_MAX_AGE as expired, puts the
    ones still pending TELEGRAM_REQUEUE_AFTER after they were queued on the stream again (the bot
    skips any it sent meanwhile), and deletes finished ones past TELEGRAM_DELIVERY_RETENTION."""
    now = timezone.now()
    pending = TelegramDelivery.objects.filter(status__in=PENDING_STATUSES)
    expired = pending.filter(created_at__lt=now - settings.TELEGRAM_DELIVERY_MAX_AGE).update(
        status=DeliveryStatus.EXPIRED, claimed_until=None, last_error="not delivered in time"
    )
    requeued = 0
    with transaction.atomic():
        stale = list(
            pending.select_for_update(skip_locked=True)
            .filter(queued_at__lt=now - settings.TELEGRAM_REQUEUE_AFTER)
            .exclude(claimed_until__gt=now)
            .order_by("queued_at")
            .only("id", "chat_id")[:batch]
        )
        if stale:
            requeued = stream_add(stale)
            TelegramDelivery.objects.filter(pk__in=[d.pk for d in stale]).update(queued_at=now)
    pruned, _ = (
        TelegramDelivery.objects.exclude(status__in=PENDING_STATUSES)
        .filter(created_at__lt=now - settings.TELEGRAM_DELIVERY_RETENTION)
        .delete()
    )
    if expired or requeued or pruned:
        logger.info("telegram sweep: %d expired, %d requeued, %d pruned", expired, requeued, pruned)
    return {"expired": expired, "requeued": requeued, "pruned": pruned}
