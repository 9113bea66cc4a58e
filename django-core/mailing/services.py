"""Sending emails: one delivery per (event, address), claimed in the database before it is sent,
so a redelivered or duplicated task never mails twice, and recorded whatever happens.

A delivery row moves pending → sending (a lease, taken by a conditional update) → sent, or
→ retrying (a temporary SMTP error; the Celery task retries with backoff) → … → failed (a
permanent error or retries exhausted), or → skipped (nothing to send any more). Should a worker
die mid-send, its lease (EMAIL_SEND_LEASE) runs out and the redelivered task claims the row
again: at least once, and twice only if the process died between the SMTP server's acceptance
and the row's update. A retrying delivery's `lease_until` is when its retry is due.

When every email of an event is finished, the worker stamps the outbox row's
`channels_finished_at`; mailing.dispatch.dispatch_unfinished hands on the events whose task was
lost (docs/background.md "Lost tasks").
"""

import logging
import re
import smtplib
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count, F, Q
from django.utils import timezone
from notifications.models import NotificationPreference, OutboxEvent
from taskflow_contracts import EventType
from taskflow_contracts.events import EventBase, event_type_adapter

from accounts.models import AccountToken, User
from common.observability.celery import mail_outcomes_counted
from mailing.emails import (
    DIGEST_KIND,
    MAILED_EVENT_TYPES,
    Email,
    compose_account_email,
    compose_digest_email,
    compose_event_email,
)
from mailing.models import CLAIMABLE, FINISHED, IN_HAND, DeliveryStatus, EmailDelivery
from mailing.selectors import digest_for

logger = logging.getLogger(__name__)

# Digests go out from DIGEST_HOUR until this many hours later (a beat that was down catches up;
# later than that the day's digest is not worth sending).
DIGEST_WINDOW_HOURS = 3
# A digest is about these events' subjects: someone who mails none of them gets no digest.
DIGEST_EVENT_TYPES = (EventType.TASK_ASSIGNED, EventType.TASK_DEADLINE_APPROACHING, EventType.TASK_OVERDUE)
_DIGEST_NAMESPACE = uuid.UUID("6f1c1d52-9a49-4d6e-8a8e-1f4f0b1f5d3a")
_ACCOUNT_TOKEN_NAMESPACE = uuid.UUID("0d4f3c8e-5b7a-4f1e-9c2d-7a6b5e4d3c2b")


class Outcome(StrEnum):
    SENT = "sent"
    DONE = "done"  # finished before (sent, failed or skipped): nothing to do
    SKIPPED = "skipped"
    BUSY = "busy"  # another worker holds the lease
    RETRY = "retry"  # temporary failure: try again later
    FAILED = "failed"


def _is_permanent(exc: Exception) -> bool:
    """A 5xx answer about the recipients or the message will not change on a retry; network
    errors, timeouts, 4xx answers and authentication trouble (fixable by configuration) may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """`text` as one header line: control characters (newlines included) become spaces, runs of
    spaces one."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


@mail_outcomes_counted
def email_deliver(
    *,
    key: uuid.UUID,
    kind: str,
    address: str,
    user: User | None,
    compose: Callable[[], Email | None],
    final_attempt: bool = False,
    retry_at: datetime | None = None,
) -> Outcome:
    """Sends one email once: claims the (key, address) delivery, composes, sends over the
    configured backend and records the result. `final_attempt`: a temporary failure is recorded
    as failed (no retry follows); otherwise as retrying, due at `retry_at` (the earliest the
    caller's retry runs: the sweeps leave the delivery alone until then)."""
    delivery, _ = EmailDelivery.objects.get_or_create(
        event_id=key, to_email=address, defaults={"kind": kind, "user": user}
    )
    now = timezone.now()
    claimed = (
        EmailDelivery.objects.filter(pk=delivery.pk)
        .filter(Q(status__in=CLAIMABLE) | Q(status=DeliveryStatus.SENDING, lease_until__lt=now))
        .update(
            status=DeliveryStatus.SENDING,
            lease_until=now + settings.EMAIL_SEND_LEASE,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        status = EmailDelivery.objects.filter(pk=delivery.pk).values_list("status", flat=True).get()
        return Outcome.DONE if status in FINISHED else Outcome.BUSY

    def record(status: DeliveryStatus, **fields: object) -> None:
        fields.setdefault("lease_until", None)
        EmailDelivery.objects.filter(pk=delivery.pk).update(status=status, updated_at=timezone.now(), **fields)

    try:
        email = compose()
    except Exception as exc:
        # A bug or broken data, not the mail server: retrying will not help.
        logger.exception("composing %s for %s (%s) failed", kind, address, key)
        record(DeliveryStatus.FAILED, error=_describe(exc))
        return Outcome.FAILED
    if email is None:
        record(DeliveryStatus.SKIPPED, error="")
        return Outcome.SKIPPED
    # A header is one line: a title or name holding a newline (or another control character)
    # would make Django refuse the whole message.
    subject = one_line(email.subject)
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        subject=subject[:300], message_id=email.headers.get("Message-ID", "")
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=email.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers=email.headers,
    )
    message.attach_alternative(email.html, "text/html")
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        permanent = _is_permanent(exc)
        status = DeliveryStatus.FAILED if permanent or final_attempt else DeliveryStatus.RETRYING
        record(status, error=_describe(exc), lease_until=retry_at if status == DeliveryStatus.RETRYING else None)
        logger.warning("sending %s to %s failed (%s): %s", kind, address, status, exc)
        return Outcome.FAILED if status == DeliveryStatus.FAILED else Outcome.RETRY
    except Exception as exc:
        # Anything else (a header Django refuses, a backend bug) will not change on a retry: the
        # delivery is failed, recorded, and the other recipients still get theirs.
        logger.exception("sending %s to %s failed for good", kind, address)
        record(DeliveryStatus.FAILED, error=_describe(exc))
        return Outcome.FAILED
    record(DeliveryStatus.SENT, sent_at=timezone.now(), error="")
    logger.info("sent %s to %s (%s)", kind, address, key)
    return Outcome.SENT


def event_emails_send(
    *, outbox_id: int, final_attempt: bool = False, retry_at: datetime | None = None
) -> list[Outcome]:
    """Mails one committed event to its email recipients: the users of `recipients.email`
    (chosen by their preferences when the event was emitted, still active) and the addresses of
    `recipients.email_addresses` (invited people without an account). Safe to run again. When
    every email is finished, stamps the row's `channels_finished_at`."""
    row = OutboxEvent.objects.filter(pk=outbox_id).first()
    if row is None:
        logger.warning("outbox row %s is gone (pruned?); its emails are not sent", outbox_id)
        return []
    if row.type not in MAILED_EVENT_TYPES:
        _event_emails_finished(outbox_id=outbox_id)
        return []
    event: EventBase = event_type_adapter.validate_python(row.envelope)  # type: ignore[assignment]
    recipients = row.recipients or {}
    users = list(User.objects.filter(pk__in=recipients.get("email", []), is_active=True).order_by("pk"))
    outcomes = []
    for user in users:
        outcomes.append(
            email_deliver(
                key=event.id,
                kind=row.type,
                address=user.email,
                user=user,
                compose=lambda user=user: compose_event_email(event, user=user, address=user.email),  # type: ignore[misc]
                final_attempt=final_attempt,
                retry_at=retry_at,
            )
        )
    for address in recipients.get("email_addresses", []):
        outcomes.append(
            email_deliver(
                key=event.id,
                kind=row.type,
                address=address,
                user=None,
                compose=lambda address=address: compose_event_email(event, user=None, address=address),  # type: ignore[misc]
                final_attempt=final_attempt,
                retry_at=retry_at,
            )
        )
    if not deliveries_needing_retry(outcomes):
        _event_emails_finished(outbox_id=outbox_id)
    return outcomes


def _event_emails_finished(*, outbox_id: int) -> None:
    OutboxEvent.objects.filter(pk=outbox_id, channels_finished_at__isnull=True).update(
        channels_finished_at=timezone.now()
    )


def digest_key(*, user_id: int, day: date) -> uuid.UUID:
    """The delivery key of a user's digest for one local day: one digest per user and day."""
    return uuid.uuid5(_DIGEST_NAMESPACE, f"digest:{user_id}:{day.isoformat()}")


def digest_day(*, now: datetime, zone: str) -> date | None:
    """The local day whose digest is due at `now` in time zone `zone`, or None outside the window
    (DIGEST_HOUR to DIGEST_HOUR + DIGEST_WINDOW_HOURS, local time; across midnight too)."""
    shifted = now.astimezone(ZoneInfo(zone)) - timedelta(hours=settings.DIGEST_HOUR)
    return shifted.date() if shifted.hour < DIGEST_WINDOW_HOURS else None


def digests_due(*, now: datetime | None = None) -> list[tuple[int, date]]:
    """(user id, local day) of every active user whose digest is due now and not yet finished
    (sent, skipped as empty, failed): for each time zone users live in, whether it is digest
    time there. Users who turned off email for all of DIGEST_EVENT_TYPES get none. A digest being
    sent (its lease running) or waiting for its retry is left to that task; one whose task was
    lost (by the broker, with a killed worker) is due again: this is the digests' sweep."""
    now = now or timezone.now()
    due: list[tuple[int, date]] = []
    active = User.objects.filter(is_active=True)
    for zone in active.values_list("timezone", flat=True).distinct().order_by("timezone"):
        day = digest_day(now=now, zone=zone)
        if day is not None:
            due += [(pk, day) for pk in active.filter(timezone=zone).order_by("pk").values_list("pk", flat=True)]
    if not due:
        return []
    opted_out = set(
        NotificationPreference.objects.filter(
            user_id__in=[pk for pk, _ in due], event_type__in=DIGEST_EVENT_TYPES, email=False
        )
        .values("user_id")
        .annotate(count=Count("pk"))
        .filter(count=len(DIGEST_EVENT_TYPES))
        .values_list("user_id", flat=True)
    )
    keys = {digest_key(user_id=pk, day=day): (pk, day) for pk, day in due if pk not in opted_out}
    taken = set(
        EmailDelivery.objects.filter(event_id__in=keys)
        .filter(Q(status__in=FINISHED) | Q(status__in=IN_HAND, lease_until__gte=now))
        .values_list("event_id", flat=True)
    )
    return [entry for key, entry in keys.items() if key not in taken]


def digest_send(*, user_id: int, day: date, final_attempt: bool = False, retry_at: datetime | None = None) -> Outcome:
    """Sends the user's digest for `day` (their local day) once; an empty one is recorded as
    skipped and not sent."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return Outcome.SKIPPED
    key = digest_key(user_id=user.pk, day=day)
    return email_deliver(
        key=key,
        kind=DIGEST_KIND,
        address=user.email,
        user=user,
        compose=lambda: compose_digest_email(digest_for(user=user, now=timezone.now()), user=user, day=day, key=key),
        final_attempt=final_attempt,
        retry_at=retry_at,
    )


def account_email_send(*, token_id: int, final_attempt: bool = False, retry_at: datetime | None = None) -> Outcome:
    """Mails one account token (accounts.services.account_token_issue) to its user, once: the
    delivery key is derived from the token, so a redelivered task never mails twice."""
    token = AccountToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        return Outcome.SKIPPED
    key = uuid.uuid5(_ACCOUNT_TOKEN_NAMESPACE, f"account-token:{token.pk}")
    return email_deliver(
        key=key,
        kind=token.purpose,
        address=token.user.email,
        user=token.user,
        compose=lambda: compose_account_email(token, key=key),
        final_attempt=final_attempt,
        retry_at=retry_at,
    )


def email_log_prune(*, older_than: timedelta) -> int:
    """Deletes finished deliveries older than `older_than` (the clean-up job)."""
    deleted, _ = EmailDelivery.objects.filter(status__in=FINISHED, created_at__lt=timezone.now() - older_than).delete()
    return deleted


def deliveries_needing_retry(outcomes: Iterable[Outcome]) -> bool:
    return any(outcome in (Outcome.RETRY, Outcome.BUSY) for outcome in outcomes)
