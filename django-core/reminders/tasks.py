from celery import shared_task

from common.observability.celery import REMINDERS_SENT
from reminders.services import deadline_reminders_scan, reminders_prune


@shared_task(name="reminders.deadline_scan")
def deadline_scan() -> dict[str, int]:
    """Every minute (beat): claims due reminders and emits their events. Idempotent."""
    result = deadline_reminders_scan()
    REMINDERS_SENT.inc(result.emitted)
    return {"claimed": result.claimed, "emitted": result.emitted, "obsolete": result.obsolete}


@shared_task(name="reminders.prune")
def prune() -> int:
    return reminders_prune()
