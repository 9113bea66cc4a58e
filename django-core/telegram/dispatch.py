"""Hands committed events with Telegram recipients to the bot: one TelegramDelivery row per recipient
and one entry per delivery on the Redis stream the bot reads (TELEGRAM_STREAM, fields `d` = delivery
id, `c` = chat id, `r` = the causing request's id when there is one, for logs). Called by the outbox
relay every cycle (never by a request), like mailing.dispatch for email; beat's sweep
(telegram.tasks) puts back what stays pending."""

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
            {"d": delivery.pk, "c": delivery.chat_id, **({"r": delivery.request_id} if delivery.request_id else {})},
            maxlen=settings.TELEGRAM_STREAM_LENGTH,
            approximate=True,
        )
        count += 1
    if count:
        pipe.execute()
    return count


def telegram_dispatch_pending(limit: int = 200) -> int:
    """Hands up to `limit` undispatched outbox rows with Telegram recipients to the bot, in id
    order; returns how many rows. Two steps, so the bot never reads an entry whose delivery it
    cannot see yet:

    1. one transaction creates the rows' deliveries (one per recipient still linked) and marks
       the rows; rows are claimed FOR UPDATE SKIP LOCKED, so two relays share the work;
    2. after that commit, the deliveries not yet on the stream (queued_at empty) go on it, and
       are stamped. Should Redis refuse them, they stay unstamped and the next cycle puts them
       there (a crash between the two puts one on the stream twice: the claim dedupes)."""
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(needs_telegram=True, telegram_dispatched_at__isnull=True)
            .order_by("id")
            .only("id", "event_id", "type", "envelope", "recipients", "request_id")[:limit]
        )
        if rows:
            wanted = {user_id for row in rows for user_id in row.recipients.get("telegram", [])}
            chats: dict[int, int] = dict(
                User.objects.filter(pk__in=wanted, is_active=True, telegram_chat_id__isnull=False).values_list(  # type: ignore[arg-type]
                    "pk", "telegram_chat_id"
                )
            )
            created = TelegramDelivery.objects.bulk_create(
                [
                    TelegramDelivery(
                        event_id=row.event_id,
                        event_type=row.type,
                        envelope=row.envelope,
                        user_id=user_id,
                        chat_id=chats[user_id],
                        request_id=row.request_id,
                    )
                    for row in rows
                    for user_id in row.recipients.get("telegram", [])
                    if user_id in chats
                ]
            )
            OutboxEvent.objects.filter(pk__in=[row.pk for row in rows]).update(telegram_dispatched_at=timezone.now())
            logger.info("handed %d event(s) to the Telegram bot as %d deliveries", len(rows), len(created))
    telegram_deliveries_enqueue(limit=limit * 4)
    return len(rows)


def telegram_deliveries_enqueue(*, limit: int = 1000) -> int:
    """Puts committed deliveries that are not on the stream yet on it, oldest first, and stamps
    them; returns how many. Raises RedisError (they stay for the next call)."""
    fresh = list(
        TelegramDelivery.objects.filter(status=DeliveryStatus.QUEUED, queued_at__isnull=True)
        .order_by("id")
        .only("id", "chat_id", "request_id")[:limit]
    )
    if not fresh:
        return 0
    stream_add(fresh)
    TelegramDelivery.objects.filter(pk__in=[d.pk for d in fresh], queued_at__isnull=True).update(
        queued_at=timezone.now()
    )
    return len(fresh)


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
            .only("id", "chat_id", "request_id")[:batch]
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
