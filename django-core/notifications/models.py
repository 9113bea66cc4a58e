import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import connection, models
from django.db.models import Q
from django.db.models.expressions import RawSQL
from taskflow_contracts import EVENT_TYPES

EVENT_TYPE_CHOICES = [(t, t) for t in EVENT_TYPES]


class Channel(models.TextChoices):
    WEB = "web", "Web"
    EMAIL = "email", "Email"
    TELEGRAM = "telegram", "Telegram"


class Notification(models.Model):
    """What one recipient sees of one event in the web app (the `web` channel)."""

    # No index of its own: the two indexes below lead with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    event_id = models.UUIDField()
    type = models.CharField(max_length=64, choices=EVENT_TYPE_CHOICES)
    # Rendered once, in the recipient's language at the time of the event.
    message = models.CharField(max_length=500)
    # The event's `data`, as published.
    data = models.JSONField()
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotent by event: a redelivered event never notifies twice.
            models.UniqueConstraint(fields=["recipient", "event_id"], name="notifications_one_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at", "-id"], name="notifications_recipient_new"),
            models.Index(fields=["recipient"], name="notifications_unread", condition=Q(is_read=False)),
        ]

    def __str__(self) -> str:
        return f"{self.type} → {self.recipient_id}: {self.message}"


class NotificationPreference(models.Model):
    """A user's choice for one event type; types without a row use DEFAULT_PREFERENCES."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event_type = models.CharField(max_length=64, choices=EVENT_TYPE_CHOICES)
    web = models.BooleanField()
    email = models.BooleanField()
    telegram = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event_type"], name="notifications_preference_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.event_type}: web={self.web} email={self.email} telegram={self.telegram}"


class SingleRow(models.Model):
    """A table of exactly one row, id 1."""

    id = models.SmallIntegerField(primary_key=True, default=1)

    class Meta:
        abstract = True
        constraints = [models.CheckConstraint(condition=Q(id=1), name="%(app_label)s_%(class)s_single_row")]


class OutboxHead(SingleRow):
    """The outbox's one sequence row: `seq` is the id of the last outbox row written. Whoever
    writes an outbox row increments it and holds its row lock until commit, so outbox ids are
    gapless and in commit order (see events.event_emit)."""

    seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"outbox head at {self.seq}"


# Takes the next outbox id and locks the head row until the transaction ends. The update waits
# for the previous holder to commit and then works on the row as committed (READ COMMITTED
# re-checks a row another transaction updated, whatever the statement's snapshot), so ids are
# handed out in commit order. Recreates the row when it is gone (`manage.py flush`, the test
# runner's truncation): from the largest id written.
OUTBOX_NEXT_ID_SQL = """
    INSERT INTO notifications_outboxhead AS head (id, seq)
    VALUES (1, (SELECT COALESCE(MAX(id), 0) + 1 FROM notifications_outboxevent))
    ON CONFLICT (id) DO UPDATE SET seq = head.seq + 1
    RETURNING seq"""


def next_outbox_id() -> int:
    """The next outbox id, for rows created through the ORM (the write path takes it inside its
    own statement, events.event_emit)."""
    with connection.cursor() as cursor:
        cursor.execute(OUTBOX_NEXT_ID_SQL)
        return int(cursor.fetchone()[0])


class OutboxEvent(models.Model):
    """A domain event committed with the change that caused it; published to Redis after commit
    (fast path) or by the outbox relay. Ids come from OutboxHead: gapless, in commit order."""

    id = models.BigIntegerField(primary_key=True, default=next_outbox_id)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4)
    type = models.CharField(max_length=64, choices=EVENT_TYPE_CHOICES)
    # The envelope exactly as published (validated by taskflow_contracts).
    envelope = models.JSONField()
    # Per-channel recipients, for every consumer: {"web": [ids], "email": [ids],
    # "telegram": [ids], "email_addresses": ["..."]}.
    recipients = models.JSONField(default=dict)
    # What goes to each user's realtime channel: [{"user_id": 7, "notification": {...} | null}].
    deliveries = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # When the event was handed to the Celery worker for its email recipients (mailing.dispatch).
    channels_dispatched_at = models.DateTimeField(null=True, blank=True)
    # Computed by PostgreSQL from `recipients` on insert: the event has email recipients. With the
    # partial index below, the dispatcher finds its work without touching any other row; the
    # write path's raw INSERT (events.event_emit) needs to know nothing of it.
    needs_channels = models.GeneratedField(
        expression=RawSQL(
            "COALESCE(recipients -> 'email' <> '[]'::jsonb, false)"
            " OR COALESCE(recipients -> 'email_addresses' <> '[]'::jsonb, false)",
            [],
        ),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    # When the event's Telegram deliveries were created and put on the bot's stream
    # (telegram.dispatch); `needs_telegram` is computed like `needs_channels`.
    telegram_dispatched_at = models.DateTimeField(null=True, blank=True)
    needs_telegram = models.GeneratedField(
        expression=RawSQL("COALESCE(recipients -> 'telegram' <> '[]'::jsonb, false)", []),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # For pruning: rows are appended in created_at order, so a BRIN index finds the old
            # ones at a fraction of a B-tree's cost on every insert.
            BrinIndex(fields=["created_at"], name="outbox_created_brin"),
            models.Index(
                fields=["id"],
                name="outbox_channels_pending",
                condition=Q(needs_channels=True, channels_dispatched_at__isnull=True),
            ),
            models.Index(
                fields=["id"],
                name="outbox_telegram_pending",
                condition=Q(needs_telegram=True, telegram_dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.event_id}"


class OutboxPublished(SingleRow):
    """The outbox relay's watermark: every outbox row with an id up to `through` is published.
    Ids are gapless and in commit order, so one number says what the relay has done; the rows
    themselves are never updated for it (notifications.publisher.outbox_publish_pending)."""

    through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"outbox published through {self.through}"
