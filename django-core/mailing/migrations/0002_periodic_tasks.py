from django.db import migrations


def install(apps, schema_editor):
    from config.schedules import schedules_install

    schedules_install(
        periodic_task_model=apps.get_model("django_celery_beat", "PeriodicTask"),
        crontab_model=apps.get_model("django_celery_beat", "CrontabSchedule"),
        change_marker_model=apps.get_model("django_celery_beat", "PeriodicTasks"),
    )


class Migration(migrations.Migration):
    """The periodic jobs of config/schedules.py, stored for beat's DatabaseScheduler (editable in
    the admin). `manage.py schedules_install` does the same later (idempotent)."""

    dependencies = [
        ("mailing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
