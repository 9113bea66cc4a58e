"""Pruning the outbox: published rows past the retention go, unpublished rows never do."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from notifications.models import OutboxEvent
from notifications.publisher import outbox_prune


def outbox_row(*, created_ago: timedelta, published_ago: timedelta | None) -> OutboxEvent:
    row = OutboxEvent.objects.create(type="task.created", envelope={}, deliveries=[])
    now = timezone.now()
    OutboxEvent.objects.filter(pk=row.pk).update(
        created_at=now - created_ago, published_at=None if published_ago is None else now - published_ago
    )
    return row


@pytest.mark.django_db
def test_prune_deletes_published_rows_past_the_retention_only():
    # given rows published long ago, recently, or never (even very old ones)
    retention = settings.OUTBOX_RETENTION
    minute = timedelta(minutes=1)
    expired = outbox_row(created_ago=retention * 3, published_ago=retention + minute)
    long_expired = outbox_row(created_ago=retention * 3, published_ago=retention * 2)
    kept = outbox_row(created_ago=retention * 3, published_ago=retention - minute)
    fresh = outbox_row(created_ago=minute, published_ago=minute)
    never = outbox_row(created_ago=retention * 10, published_ago=None)
    new = outbox_row(created_ago=timedelta(0), published_ago=None)

    # when the outbox is pruned with the configured retention
    deleted = outbox_prune(older_than=retention)

    # then only the rows published before the retention are gone
    assert deleted == 2
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {kept.pk, fresh.pk, never.pk, new.pk}
    assert not OutboxEvent.objects.filter(pk__in=[expired.pk, long_expired.pk]).exists()

    # and pruning again, even with no retention at all, never deletes an unpublished row
    assert outbox_prune(older_than=timedelta(0)) == 2
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {never.pk, new.pk}
