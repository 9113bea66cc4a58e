import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
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


class TransactionIdField(models.BigIntegerField):
    """A PostgreSQL `xid8`: the 64-bit id of the transaction that wrote the row, read as an int.
    Ids are handed out when a transaction first writes, so they are not in commit order; what
    they give is `pg_snapshot_xmin`: every transaction with a smaller id is over."""

    def db_type(self, connection: Any) -> str:
        return "xid8"

    def rel_db_type(self, connection: Any) -> str:
        return "xid8"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        return None if value is None else int(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        return None if value is None else str(int(value))


# The id of the writing transaction, what an outbox row's `xid` defaults to.
CURRENT_TRANSACTION_ID = RawSQL("pg_current_xact_id()", [], output_field=models.BigIntegerField())


class BoardSequence(models.Model):
    """Per project, the number of its last board event (notifications.events.BOARD_EVENT_TYPES).
    The event's statement increments it and the row stays locked until the transaction ends, so
    one project's board events commit in number order; projects never share a row. Not a foreign
    key: `project.deleted` numbers its event after the project is gone (and the row is kept, so
    a restored project would not start again at 1). docs/scaling.md "What is ordered"."""

    project_id = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField()

    def __str__(self) -> str:
        return f"project {self.project_id} at board number {self.seq}"


class OutboxEvent(models.Model):
    """A domain event committed with the change that caused it; published to Redis after commit
    (fast path) or by the outbox relay (docs/scaling.md). Ids come from an ordinary sequence: they
    are not in commit order. What orders the relay's walk is (xid, id); what orders a board's
    events is (board_project, board_seq)."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4)
    type = models.CharField(max_length=64, choices=EVENT_TYPE_CHOICES)
    # The envelope exactly as published (validated by taskflow_contracts).
    envelope = models.JSONField()
    # Per-channel recipients, for every consumer: {"web": [ids], "email": [ids],
    # "telegram": [ids], "email_addresses": ["..."]}.
    recipients = models.JSONField(default=dict)
    # What goes to each user's realtime channel, in user id order:
    # [{"user_id": 7, "notification": {...} | null}, ...]; for a board event a delivery may also
    # say `"baseline": true` (the user takes the event as is: they just joined) or `"reset": true`
    # (the user forgets the board's number: they left it), see redis_layout.DELIVER_LUA.
    deliveries = models.JSONField(default=list)
    # The writing transaction (PostgreSQL's pg_current_xact_id()): the relay passes a row only
    # once every transaction up to it is over.
    xid = TransactionIdField(db_default=CURRENT_TRANSACTION_ID, editable=False)
    # A board event's project and its number there (BoardSequence); null for other events.
    board_project = models.BigIntegerField(null=True, blank=True)
    board_seq = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # The id of the request that wrote the event (the gateway's X-Request-ID), for the logs of
    # what the event leads to: its deliveries, mails and Telegram messages. Set by PostgreSQL from
    # the transaction's `taskflow.request_id` (notifications_event_emit_traced, migration 0010).
    request_id = models.CharField(max_length=128, blank=True, db_default="", editable=False)
    # When the event was handed to the Celery worker for its email recipients (mailing.dispatch),
    # last: the redispatch sweep sets it again when it hands the event on once more.
    channels_dispatched_at = models.DateTimeField(null=True, blank=True)
    # When every email of the event was finished (sent, failed or skipped; set by the worker).
    # A row dispatched long ago and not finished had its task lost: mailing.dispatch
    # .dispatch_unfinished hands it on again (docs/background.md "Lost tasks").
    channels_finished_at = models.DateTimeField(null=True, blank=True)
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
            # The relay's walk: the rows after its watermark, in (xid, id) order.
            models.Index(fields=["xid", "id"], name="outbox_xid_id"),
            # For pruning: rows are appended in created_at order, so a BRIN index finds the old
            # ones at a fraction of a B-tree's cost on every insert.
            BrinIndex(fields=["created_at"], name="outbox_created_brin"),
            models.Index(
                fields=["id"],
                name="outbox_channels_pending",
                condition=Q(needs_channels=True, channels_dispatched_at__isnull=True),
            ),
            models.Index(
                fields=["channels_dispatched_at"],
                name="outbox_channels_unfinished",
                condition=Q(
                    needs_channels=True, channels_dispatched_at__isnull=False, channels_finished_at__isnull=True
                ),
            ),
            models.Index(
                fields=["id"],
                name="outbox_telegram_pending",
                condition=Q(needs_telegram=True, telegram_dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.event_id}"


class OutboxWatermark(SingleRow):
    """The outbox relay's watermark: every outbox row up to (xid, outbox_id), in (xid, id) order,
    is published (notifications.publisher.outbox_publish_pending). Its row lock keeps a second
    relay waiting while one walks."""

    xid = TransactionIdField(default=0)
    outbox_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"outbox published through ({self.xid}, {self.outbox_id})"
