from django.db import migrations, models


class Migration(migrations.Migration):
    """The relay keeps one watermark (every row up to it is published) instead of marking each
    row: outbox ids are gapless and in commit order since 0005. Outbox rows are then written once
    and deleted, never updated by the relay; the partial index of unpublished rows goes. The
    watermark starts below the first row not marked published (or at the last row)."""

    dependencies = [("notifications", "0005_outbox_head")]

    operations = [
        migrations.CreateModel(
            name="OutboxPublished",
            fields=[
                ("id", models.SmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("through", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="notifications_outboxpublished_single_row")
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO notifications_outboxpublished (id, through) SELECT 1, COALESCE("
            "(SELECT MIN(id) - 1 FROM notifications_outboxevent WHERE published_at IS NULL), "
            "(SELECT MAX(id) FROM notifications_outboxevent), 0)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveIndex(model_name="outboxevent", name="outbox_unpublished"),
        migrations.RemoveField(model_name="outboxevent", name="published_at"),
    ]
