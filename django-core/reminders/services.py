"""The deadline reminder scan (every minute, from beat): it claims each due (task, deadline,
kind) reminder in the database and emits `task.deadline_approaching` (`window` 24h or 1h) or
`task.overdue` through notifications.events.event_emit, so the web notification, the realtime
push, the email and Telegram all follow from the one event."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from notifications import events
from taskflow_contracts import EventType
from taskflow_contracts.events import TaskDeadlineApproachingData, TaskOverdueData

from reminders.models import DeadlineReminder, ReminderKind, ReminderStatus
from tasks.models import Task, TaskStatus

logger = logging.getLogger(__name__)

# An overdue reminder is sent only for deadlines passed within this window: a first deployment,
# or a beat that was down for a month, does not remind of every task that ever slipped.
OVERDUE_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class ScanResult:
    claimed: int
    emitted: int
    obsolete: int


def reminder_kind_due(*, deadline: datetime, now: datetime) -> ReminderKind | None:
    """Which reminder a deadline calls for now: the latest one whose moment has come. A task
    created 30 minutes before its deadline gets the 1-hour reminder only, not both."""
    if deadline <= now:
        return ReminderKind.OVERDUE if now - deadline <= OVERDUE_LOOKBACK else None
    if deadline - now <= timedelta(hours=1):
        return ReminderKind.DUE_IN_1H
    if deadline - now <= timedelta(hours=24):
        return ReminderKind.DUE_IN_24H
    return None


def deadline_reminders_scan(*, now: datetime | None = None, batch: int = 500) -> ScanResult:
    """Claims the reminders due now and emits their events; safe to run any number of times, at
    once or concurrently.

    1. Each open task with a deadline in reach gets a PENDING row for the kind due now; the unique
       (task, deadline, kind) makes a second insert (another scan, a rerun) a no-op.
    2. Each PENDING row is taken by a conditional update (PENDING → EMITTED: one scan wins, a
       concurrent one updates nothing) in the transaction that emits its event, so the claim and
       the event commit together or not at all. A row whose task is done, whose deadline moved or
       whose kind is no longer the one due becomes OBSOLETE instead."""
    now = now or timezone.now()
    candidates = (
        Task.objects.exclude(status=TaskStatus.DONE)
        .filter(deadline__gt=now - OVERDUE_LOOKBACK, deadline__lte=now + timedelta(hours=24))
        .values_list("pk", "deadline")
    )
    claims = []
    for task_id, deadline in candidates:
        if deadline is None:  # excluded by the filter; for the type checker
            continue
        kind = reminder_kind_due(deadline=deadline, now=now)
        if kind is not None:
            claims.append(DeadlineReminder(task_id=task_id, deadline=deadline, kind=kind))
    with transaction.atomic():
        DeadlineReminder.objects.bulk_create(claims, ignore_conflicts=True, batch_size=500)

    emitted = obsolete = 0
    pending = list(
        DeadlineReminder.objects.filter(status=ReminderStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )
    for reminder_id in pending:
        outcome = _reminder_process(reminder_id=reminder_id, now=now)
        emitted += outcome == ReminderStatus.EMITTED
        obsolete += outcome == ReminderStatus.OBSOLETE
    if emitted or obsolete:
        logger.info("deadline scan: %d reminder(s) emitted, %d obsolete", emitted, obsolete)
    return ScanResult(claimed=len(claims), emitted=emitted, obsolete=obsolete)


def _reminder_process(*, reminder_id: int, now: datetime) -> str | None:
    """Emits one claimed reminder's event; the status it ends in, None when another scan had it."""
    with transaction.atomic():
        # The claim: only one transaction moves the row out of PENDING; a concurrent one waits for
        # the row lock, then finds it no longer PENDING and updates nothing.
        claimed = DeadlineReminder.objects.filter(pk=reminder_id, status=ReminderStatus.PENDING).update(
            status=ReminderStatus.EMITTED, processed_at=now
        )
        if not claimed:
            return None
        reminder = DeadlineReminder.objects.get(pk=reminder_id)
        task = Task.objects.select_related("project").filter(pk=reminder.task_id).first()
        if (
            task is None
            or task.status == TaskStatus.DONE
            or task.deadline != reminder.deadline
            or reminder_kind_due(deadline=reminder.deadline, now=now) != reminder.kind
        ):
            DeadlineReminder.objects.filter(pk=reminder_id).update(status=ReminderStatus.OBSOLETE)
            return ReminderStatus.OBSOLETE
        ref = events.task_ref(task)
        if reminder.kind == ReminderKind.OVERDUE:
            event_type, data = EventType.TASK_OVERDUE, TaskOverdueData(task=ref)
        else:
            event_type = EventType.TASK_DEADLINE_APPROACHING
            data = TaskDeadlineApproachingData(task=ref, window=reminder.kind)  # type: ignore[assignment]
        # Last write of the transaction (event_emit's precondition); the system is the actor.
        events.event_emit(
            event_type=event_type,
            actor=None,
            data=data,
            audience=events.Audience(users=events.task_audience(task=task)),
            task=task,
        )
    return ReminderStatus.EMITTED


def reminders_prune() -> int:
    """Deletes reminders of deadlines past the overdue look-back (they can never be claimed again,
    so their rows no longer guard anything)."""
    deleted, _ = DeadlineReminder.objects.filter(deadline__lt=timezone.now() - OVERDUE_LOOKBACK).delete()
    return deleted
