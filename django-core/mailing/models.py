from django.conf import settings
from django.db import models
from django.db.models import Q


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Being sent by a worker now (until `lease_until`).
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    # The last attempt failed with a temporary error; the task retries with backoff.
    RETRYING = "retrying", "Retrying"
    # Given up: a permanent SMTP error, or retries exhausted.
    FAILED = "failed", "Failed"
    # Nothing to send any more (the invite was answered, the task deleted, an empty digest).
    SKIPPED = "skipped", "Skipped"


# States a worker may (re)claim; SENDING only once its lease has run out.
CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
FINISHED = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)
# States a task has in hand until `lease_until`: being sent, or waiting for the retry due then.
IN_HAND = (DeliveryStatus.SENDING, DeliveryStatus.RETRYING)


class EmailDelivery(models.Model):
    """One email of one event to one address, and what became of it: the processed table that
    makes the mail tasks idempotent (one row per (event, address), claimed before sending) and
    the send log staff read in the admin.

    `event_id` is the domain event's id; a digest uses a key derived from (user, local date)."""

    event_id = models.UUIDField()
    kind = models.CharField(max_length=64)
    to_email = models.EmailField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    subject = models.CharField(max_length=300, blank=True, default="")
    message_id = models.CharField(max_length=200, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # SENDING: the sender's lease runs until then; RETRYING: the retry is due then.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "email delivery"
        verbose_name_plural = "email deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "to_email"], name="mailing_one_email_per_event_address"),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="mailing_delivery_created"),
            models.Index(
                fields=["-created_at"],
                name="mailing_delivery_trouble",
                condition=Q(status__in=["failed", "retrying"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email} ({self.status})"
