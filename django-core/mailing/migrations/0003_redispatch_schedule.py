from django.db import migrations

from config.schedules import schedules_install_migration


class Migration(migrations.Migration):
    """Adds the "Email redispatch (lost tasks)" job of config/schedules.py (and any other missing
    one; idempotent)."""

    dependencies = [
        ("mailing", "0002_periodic_tasks"),
        ("notifications", "0011_outbox_channels_finished"),
        ("telegram", "0002_periodic_tasks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedules_install_migration, migrations.RunPython.noop)]
