"""Every periodic job, defined here and only here. They are stored in django-celery-beat's tables
(so staff can see, change, disable or run them in the admin) by a migration
(mailing/migrations/0002_periodic_tasks.py) and by `manage.py schedules_install`, both through
`schedules_install`, which adds what is missing and leaves what staff changed alone (`--reset`
restores these definitions). Times are UTC; digests pick each user's own hour themselves."""

from dataclasses import dataclass
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    # minute hour day-of-month month day-of-week
    crontab: str
    description: str
    # A run not started within this many seconds is dropped (the next one does the same work).
    expire_seconds: int | None = None


SCHEDULES = (
    Schedule(
        "Deadline reminders",
        "reminders.deadline_scan",
        "* * * * *",
        "Claims due reminders (24 h, 1 h before, overdue) and emits their events.",
        expire_seconds=55,
    ),
    Schedule(
        "Email dispatch (safety net)",
        "mailing.dispatch_pending",
        "* * * * *",
        "Hands undispatched events to the mail worker; the outbox relay does this every cycle.",
        expire_seconds=55,
    ),
    Schedule(
        "Email redispatch (lost tasks)",
        "mailing.dispatch_unfinished",
        "* * * * *",
        "Hands events whose emails are unfinished EMAIL_REDISPATCH_AFTER after dispatch (their task was "
        "lost by the broker or with a killed worker) to the mail worker again.",
        expire_seconds=55,
    ),
    Schedule(
        "Telegram dispatch (safety net)",
        "telegram.dispatch_pending",
        "* * * * *",
        "Hands undispatched events to the Telegram bot's stream; the outbox relay does this every cycle.",
        expire_seconds=55,
    ),
    Schedule(
        "Telegram deliveries sweep",
        "telegram.deliveries_sweep",
        "* * * * *",
        "Requeues Telegram deliveries left pending, parks expired ones, prunes old finished ones.",
        expire_seconds=55,
    ),
    Schedule(
        "Daily digests",
        "mailing.digests_send_due",
        "*/15 * * * *",
        "Sends each user's digest at DIGEST_HOUR in their own time zone.",
        expire_seconds=600,
    ),
    Schedule("Expire invites", "projects.invites_expire", "7 * * * *", "Pending invites past expiry → expired."),
    Schedule(
        "Prune read notifications",
        "notifications.prune_read",
        "17 3 * * *",
        "Deletes read notifications older than NOTIFICATION_RETENTION_DAYS.",
    ),
    Schedule(
        "Prune published outbox rows",
        "notifications.outbox_prune",
        "27 3 * * *",
        "Deletes outbox rows published more than OUTBOX_RETENTION_DAYS ago.",
    ),
    Schedule(
        "Prune expired refresh tokens",
        "accounts.tokens_prune_expired",
        "37 3 * * *",
        "Deletes expired refresh-token records and their blacklist entries.",
    ),
    Schedule(
        "Prune old reminders",
        "reminders.prune",
        "47 3 * * *",
        "Deletes reminder claims of deadlines past the overdue look-back.",
    ),
    Schedule(
        "Prune the email log",
        "mailing.log_prune",
        "57 3 * * *",
        "Deletes finished email deliveries older than EMAIL_LOG_RETENTION_DAYS.",
    ),
)


def schedules_install(
    *, periodic_task_model: Any, crontab_model: Any, change_marker_model: Any, reset: bool = False
) -> list[str]:
    """Creates the missing periodic tasks (all of them with `reset`, overwriting staff changes);
    returns the names written. Takes the models so a migration can pass its historical ones
    (`change_marker_model` is django-celery-beat's PeriodicTasks: a running beat reloads when
    its timestamp moves)."""
    written = []
    for schedule in SCHEDULES:
        if not reset and periodic_task_model.objects.filter(name=schedule.name).exists():
            continue
        minute, hour, day_of_month, month_of_year, day_of_week = schedule.crontab.split()
        fields = {
            "minute": minute,
            "hour": hour,
            "day_of_month": day_of_month,
            "month_of_year": month_of_year,
            "day_of_week": day_of_week,
            "timezone": "UTC",
        }
        crontab = crontab_model.objects.filter(**fields).first() or crontab_model.objects.create(**fields)
        periodic_task_model.objects.update_or_create(
            name=schedule.name,
            defaults={
                "task": schedule.task,
                "crontab": crontab,
                "interval": None,
                "solar": None,
                "clocked": None,
                "enabled": True,
                "one_off": False,
                "description": schedule.description,
                "expire_seconds": schedule.expire_seconds,
            },
        )
        written.append(schedule.name)
    if written:
        change_marker_model.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
    return written


def schedules_install_migration(apps: Any, schema_editor: Any) -> None:
    """A RunPython step: installs the missing schedules with the migration's historical models
    (the migrations of the apps whose jobs these are call it)."""
    schedules_install(
        periodic_task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
        crontab_model=apps.get_model("django_celery_beat", "CrontabSchedule"),
        change_marker_model=apps.get_model("django_celery_beat", "PeriodicTasks"),
    )
