"""Pruning the outbox: rows past the retention that the relay has passed go; rows it has not
passed, and rows whose emails are not yet with the worker, never do. (How far the relay passes:
tests/django_core/notifications/test_outbox_relay.py.)"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from notifications.models import OutboxEvent
from notifications.publisher import outbox_prune

from tests.django_core.notifications.helpers import set_relay_watermark


def outbox_row(*, created_ago: timedelta, email: bool = False) -> OutboxEvent:
    row = OutboxEvent.objects.create(
        type="task.created", envelope={}, deliveries=[], recipients={"email": [1]} if email else {}
    )
    OutboxEvent.objects.filter(pk=row.pk).update(created_at=timezone.now() - created_ago)
    return row


def remaining() -> set[int]:
    return set(OutboxEvent.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_prune_deletes_old_rows_the_relay_has_passed_only():
    # given rows the relay has passed (published): old, very old, old with mails not yet handed
    # to the worker, and recent
    retention = settings.OUTBOX_RETENTION
    minute = timedelta(minutes=1)
    expired = outbox_row(created_ago=retention + minute)
    long_expired = outbox_row(created_ago=retention * 2)
    mail_waiting = outbox_row(created_ago=retention * 2, email=True)
    fresh = outbox_row(created_ago=minute)
    set_relay_watermark(through=fresh)
    # and rows it has not passed yet, even a very old one
    never = outbox_row(created_ago=retention * 10)
    new = outbox_row(created_ago=timedelta(0))

    # when the outbox is pruned with the configured retention
    deleted = outbox_prune(older_than=retention)

    # then only the old rows the relay has passed, with no mail waiting, are gone
    assert deleted == 2
    assert remaining() == {mail_waiting.pk, fresh.pk, never.pk, new.pk}
    assert not OutboxEvent.objects.filter(pk__in=[expired.pk, long_expired.pk]).exists()

    # and the waiting row goes once its mails are with the worker
    OutboxEvent.objects.filter(pk=mail_waiting.pk).update(channels_dispatched_at=timezone.now())
    assert outbox_prune(older_than=retention) == 1

    # and pruning with no retention at all never deletes a row the relay has not passed
    assert outbox_prune(older_than=timedelta(0)) == 1
    assert remaining() == {never.pk, new.pk}
