"""Hands committed events with email recipients to the Celery worker. Called by the outbox relay
every cycle (and by beat as a safety net), never by a request: a request only commits its outbox
row, so no API call ever waits on the broker or a mail server.

`dispatch_unfinished` (beat, every minute) is the sweep for tasks lost after they were handed
on: the broker lost its queue, or the whole worker was killed (docs/background.md "Lost tasks")."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from notifications.models import OutboxEvent
from taskflow_contracts.logs import log_context

from mailing.models import DeliveryStatus, EmailDelivery

logger = logging.getLogger(__name__)

# Events older than this are not handed on again: whatever keeps them from finishing for two
# days needs a person (the admin's email log), not another attempt every EMAIL_REDISPATCH_AFTER.
REDISPATCH_LOOKBACK = timedelta(days=2)


def dispatch_pending(limit: int = 200) -> int:
    """Enqueues one `mailing.event_emails_send` task per undispatched outbox row that has email
    recipients, in id order, and marks the rows; returns how many.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so concurrent dispatchers (two relays, the relay
    and beat) share the work instead of enqueueing a row twice. When the broker fails, the rows
    enqueued so far are marked, the rest stay for the next cycle, and the error is raised. Should
    the marking itself be lost, a row is enqueued again: the task is idempotent by event id."""
    return _dispatch(OutboxEvent.objects.filter(needs_channels=True, channels_dispatched_at__isnull=True), limit)


def unfinished_events(*, now: datetime) -> "QuerySet[OutboxEvent]":
    """Rows handed to the worker more than EMAIL_REDISPATCH_AFTER ago whose emails are not all
    finished, and that no task has in hand: none of their deliveries is being sent (lease
    running) or waits for a retry due less than EMAIL_REDISPATCH_AFTER ago (a retry is a hand-off
    like the first one). The partial index outbox_channels_unfinished holds the candidates."""
    cutoff = now - settings.EMAIL_REDISPATCH_AFTER
    in_hand = EmailDelivery.objects.filter(event_id=OuterRef("event_id")).filter(
        Q(status=DeliveryStatus.SENDING, lease_until__gte=now)
        | Q(status=DeliveryStatus.RETRYING, lease_until__gte=cutoff)
    )
    return OutboxEvent.objects.filter(
        needs_channels=True,
        channels_dispatched_at__lt=cutoff,
        channels_finished_at__isnull=True,
        created_at__gte=now - REDISPATCH_LOOKBACK,
    ).exclude(Exists(in_hand))


def dispatch_unfinished(limit: int = 200) -> int:
    """Enqueues again the events whose mail task was lost (`unfinished_events`) and marks them
    dispatched now; returns how many. Safe whatever the task's real fate: should it only be late,
    both tasks claim each delivery and one sends it."""
    count = _dispatch(unfinished_events(now=timezone.now()), limit)
    if count:
        logger.warning("handed %d event(s) to the mail worker again: their task was lost", count)
    return count


def _dispatch(rows: "QuerySet[OutboxEvent]", limit: int) -> int:
    from mailing.tasks import event_emails_send

    dispatched: list[int] = []
    failure: Exception | None = None
    with transaction.atomic():
        claimed = list(
            rows.select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values_list("id", "request_id", "event_id")[:limit]
        )
        for row_id, request_id, event_id in claimed:
            try:
                # The ids go with the task (its headers) into the worker's log lines.
                with log_context(request_id=request_id or None, event_id=str(event_id)):
                    event_emails_send.apply_async(args=[row_id])
            except Exception as exc:  # the broker's errors (kombu, redis, OS) have no common base
                failure = exc
                break
            dispatched.append(row_id)
        if dispatched:
            OutboxEvent.objects.filter(id__in=dispatched).update(channels_dispatched_at=timezone.now())
    if failure is not None:
        raise failure
    return len(dispatched)
