from django.db import migrations, models

# Rows handed to the worker before this migration are taken as finished: nothing recorded which
# of them were, and the redispatch sweep (mailing.dispatch.dispatch_unfinished) must not hand
# every past event to the worker again on the first run after an upgrade.
BACKFILL = (
    "UPDATE notifications_outboxevent SET channels_finished_at = channels_dispatched_at"
    " WHERE channels_dispatched_at IS NOT NULL"
)


class Migration(migrations.Migration):
    """`channels_finished_at`: when every email of the event was finished (set by the worker), and
    the partial index of the rows handed on but not finished, which the redispatch sweep reads."""

    dependencies = [("notifications", "0010_outboxevent_request_id")]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="channels_finished_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(
                    ("channels_dispatched_at__isnull", False),
                    ("channels_finished_at__isnull", True),
                    ("needs_channels", True),
                ),
                fields=["channels_dispatched_at"],
                name="outbox_channels_unfinished",
            ),
        ),
    ]
