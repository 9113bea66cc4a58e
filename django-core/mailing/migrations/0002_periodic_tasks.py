from django.db import migrations

from config.schedules import schedules_install_migration


class Migration(migrations.Migration):
    """The periodic jobs of config/schedules.py, stored for beat's DatabaseScheduler (editable in
    the admin). `manage.py schedules_install` does the same later (idempotent)."""

    dependencies = [
        ("mailing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedules_install_migration, migrations.RunPython.noop)]
