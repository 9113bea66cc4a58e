"""Hands committed events with email recipients to the Celery worker. Called by the outbox relay
every cycle (and by beat as a safety net), never by a request: a request only commits its outbox
row, so no API call ever waits on the broker or a mail server."""

import logging

from django.db import transaction
from django.utils import timezone
from notifications.models import OutboxEvent
from taskflow_contracts.logs import log_context

logger = logging.getLogger(__name__)


def dispatch_pending(limit: int = 200) -> int:
    """Enqueues one `mailing.event_emails_send` task per undispatched outbox row that has email
    recipients, in id order, and marks the rows; returns how many.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so concurrent dispatchers (two relays, the relay
    and beat) share the work instead of enqueueing a row twice. When the broker fails, the rows
    enqueued so far are marked, the rest stay for the next cycle, and the error is raised. Should
    the marking itself be lost, a row is enqueued again: the task is idempotent by event id."""
    from mailing.tasks import event_emails_send

    dispatched: list[int] = []
    failure: Exception | None = None
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(needs_channels=True, channels_dispatched_at__isnull=True)
            .order_by("id")
            .values_list("id", "request_id", "event_id")[:limit]
        )
        for row_id, request_id, event_id in rows:
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
