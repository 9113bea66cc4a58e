from django.db import migrations


class Migration(migrations.Migration):
    """The outbox is a queue: every row is inserted, updated once (published) and deleted later.
    Vacuum it far more often than PostgreSQL's defaults would (20% of the table), or the
    partial index of unpublished rows fills with dead entries and the publishers' scan slows."""

    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE notifications_outboxevent SET (autovacuum_vacuum_scale_factor = 0.01, "
            "autovacuum_vacuum_threshold = 500, autovacuum_analyze_scale_factor = 0.02)",
            reverse_sql="ALTER TABLE notifications_outboxevent RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_vacuum_threshold, autovacuum_analyze_scale_factor)",
        ),
    ]
