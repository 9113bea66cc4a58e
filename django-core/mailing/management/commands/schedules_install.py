from typing import Any

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

from config.schedules import schedules_install


class Command(BaseCommand):
    help = (
        "Stores the periodic jobs of config/schedules.py in django-celery-beat's tables (editable in the "
        "admin). Idempotent: adds what is missing and keeps staff changes, unless --reset."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset", action="store_true", help="Restore every job to its definition.")

    def handle(self, *args: Any, **options: Any) -> None:
        written = schedules_install(
            periodic_task_model=PeriodicTask,
            crontab_model=CrontabSchedule,
            change_marker_model=PeriodicTasks,
            reset=options["reset"],
        )
        self.stdout.write(f"{len(written)} schedule(s) written" + (": " + ", ".join(written) if written else ""))
