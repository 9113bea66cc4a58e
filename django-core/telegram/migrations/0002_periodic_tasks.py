from django.db import migrations


def install(apps, schema_editor):
    from config.schedules import schedules_install

    schedules_install(
        periodic_task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
        crontab_model=apps.get_model("django_celery_beat", "CrontabSchedule"),
        change_marker_model=apps.get_model("django_celery_beat", "PeriodicTasks"),
    )


class Migration(migrations.Migration):
    """Adds the Telegram jobs of config/schedules.py (and any other missing one; idempotent)."""

    dependencies = [
        ("telegram", "0001_initial"),
        ("mailing", "0002_periodic_tasks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
