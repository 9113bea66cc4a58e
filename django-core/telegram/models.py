"""Telegram: link tokens, the bot's identity, and one delivery row per pushed message.

See docs/telegram.md. A chat is linked by `accounts.User.telegram_chat_id`; these tables hold what
linking and pushing need on top of that."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from notifications.models import EVENT_TYPE_CHOICES, SingleRow


class TelegramBot(SingleRow):
    """The bot's own account as `getMe` answered it (the bot reports it at start-up): its
    username makes the `https://t.me/<username>?start=<token>` deep links."""

    username = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"@{self.username}"


class TelegramLinkToken(models.Model):
    """A single-use link token. Only its SHA-256 is stored; the token itself is in the deep link."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_link_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    chat_id = models.BigIntegerField(null=True, blank=True, help_text=_("The chat it linked."))

    def __str__(self) -> str:
        return f"link token of {self.user_id} (expires {self.expires_at:%Y-%m-%d %H:%M})"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    BLOCKED = "blocked", _("Blocked by the user")
    FAILED = "failed", _("Failed (parked)")
    EXPIRED = "expired", _("Expired (parked)")


# A delivery in one of these states may still be sent.
PENDING_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)


class TelegramDelivery(models.Model):
    """One event pushed to one recipient's chat: the dedupe key (one per event and user), the
    claim that keeps two bot processes from sending it twice, and the outcome. It keeps its own
    copy of the envelope, so pruning the outbox never loses a message still to be sent."""

    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=64, choices=EVENT_TYPE_CHOICES)
    envelope = models.JSONField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="telegram_deliveries")
    # The chat it was queued for; the claim sends to the user's chat at that moment.
    chat_id = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    skip_reason = models.CharField(max_length=32, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was last put on the stream (empty: not yet, telegram.dispatch does it after the
    # commit that created it; the sweep puts it there again when it stays pending).
    queued_at = models.DateTimeField(null=True, blank=True)
    # A claim holds the delivery until then (the bot is sending it).
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The Telegram message it became, in the chat it was sent to: a reply to it is a comment.
    message_id = models.BigIntegerField(null=True, blank=True)
    sent_chat_id = models.BigIntegerField(null=True, blank=True)
    # The request that caused the event (OutboxEvent.request_id): on the stream entry (`r`) for
    # the bot's log lines, never in the message.
    request_id = models.CharField(max_length=128, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("Telegram delivery")
        verbose_name_plural = _("Telegram deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "user"], name="telegram_one_delivery_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["queued_at"], name="telegram_delivery_pending", condition=Q(status__in=PENDING_STATUSES)
            ),
            models.Index(fields=["sent_chat_id", "message_id"], name="telegram_delivery_message"),
            models.Index(fields=["created_at"], name="telegram_delivery_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.user_id} ({self.status})"
