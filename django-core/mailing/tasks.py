"""Celery tasks of the email channel. Each loads rows by id, calls a service and is safe to run
twice (deliveries are claimed per (event, address)); temporary SMTP failures are retried with
exponential backoff and jitter, up to EMAIL_MAX_RETRIES times."""

import logging
import random
from datetime import date, datetime, timedelta

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from mailing import services
from mailing.dispatch import dispatch_pending, dispatch_unfinished

logger = logging.getLogger(__name__)


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: about EMAIL_RETRY_BACKOFF * 2**retries, capped at
    EMAIL_RETRY_BACKOFF_MAX, each wait drawn from its upper half so retries of many mails spread
    out but none comes back at once."""
    ceiling = min(settings.EMAIL_RETRY_BACKOFF * 2**retries, settings.EMAIL_RETRY_BACKOFF_MAX)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 (jitter, not security)


class RetryPlan:
    """This run's place in the retry schedule: whether it is the last attempt, and when the next
    one would run (decided before sending, so a retrying delivery records when its retry is due)."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.final = task.request.retries >= settings.EMAIL_MAX_RETRIES
        self.countdown = retry_countdown(task.request.retries)
        self.retry_at: datetime = timezone.now() + timedelta(seconds=self.countdown)

    def retry_if_needed(self, outcomes: list[services.Outcome]) -> None:
        if services.deliveries_needing_retry(outcomes) and not self.final:
            raise self.task.retry(countdown=self.countdown)


@shared_task(bind=True, name="mailing.event_emails_send", max_retries=None)
def event_emails_send(self: Task, outbox_id: int) -> None:
    """Mails one committed event (an outbox row) to its email recipients."""
    plan = RetryPlan(self)
    plan.retry_if_needed(
        services.event_emails_send(outbox_id=outbox_id, final_attempt=plan.final, retry_at=plan.retry_at)
    )


@shared_task(bind=True, name="mailing.digest_send", max_retries=None)
def digest_send(self: Task, user_id: int, day: str) -> None:
    """Sends one user's digest for their local day `day` (ISO date)."""
    plan = RetryPlan(self)
    outcome = services.digest_send(
        user_id=user_id, day=date.fromisoformat(day), final_attempt=plan.final, retry_at=plan.retry_at
    )
    plan.retry_if_needed([outcome])


@shared_task(bind=True, name="mailing.account_email_send", max_retries=None)
def account_email_send(self: Task, token_id: int) -> None:
    """Mails one account token (email verification, password reset), enqueued after commit by
    accounts.services.account_token_issue."""
    plan = RetryPlan(self)
    plan.retry_if_needed(
        [services.account_email_send(token_id=token_id, final_attempt=plan.final, retry_at=plan.retry_at)]
    )


@shared_task(name="mailing.digests_send_due")
def digests_send_due() -> int:
    """From beat (every 15 minutes): enqueues the digests due now in users' own time zones."""
    due = services.digests_due()
    for user_id, day in due:
        digest_send.delay(user_id, day.isoformat())
    return len(due)


@shared_task(name="mailing.dispatch_pending")
def dispatch() -> int:
    """From beat, a safety net: the outbox relay dispatches every cycle."""
    return dispatch_pending()


@shared_task(name="mailing.dispatch_unfinished")
def redispatch() -> int:
    """From beat (every minute): hands on again the events whose mail task was lost."""
    return dispatch_unfinished()


@shared_task(name="mailing.log_prune")
def log_prune() -> int:
    return services.email_log_prune(older_than=settings.EMAIL_LOG_RETENTION)
