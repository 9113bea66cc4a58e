import django.db.models.expressions
from django.db import migrations, models

import notifications.models


class Migration(migrations.Migration):
    """No head row, no gapless ids (docs/scaling.md): outbox ids come from an identity sequence;
    each row keeps the id of its transaction (`xid`) for the relay's walk, and a board event its
    project's board number (BoardSequence, one row per project). The relay's watermark becomes
    (xid, id): every row up to the old watermark got this migration's xid, so the new one starts
    at (that xid, the old id)."""

    dependencies = [("notifications", "0008_event_types_for_boards")]

    operations = [
        migrations.CreateModel(
            name="BoardSequence",
            fields=[
                ("project_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField()),
            ],
        ),
        migrations.AddField(
            model_name="outboxevent",
            name="xid",
            field=notifications.models.TransactionIdField(
                db_default=django.db.models.expressions.RawSQL(
                    "pg_current_xact_id()", [], output_field=models.BigIntegerField()
                ),
                editable=False,
            ),
        ),
        migrations.AddField(
            model_name="outboxevent",
            name="board_project",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outboxevent",
            name="board_seq",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="id",
            field=models.BigAutoField(primary_key=True, serialize=False),
        ),
        # The identity starts after every id the head ever gave out (pruned rows included).
        migrations.RunSQL(
            "SELECT setval(pg_get_serial_sequence('notifications_outboxevent', 'id'), GREATEST("
            "(SELECT COALESCE(MAX(id), 0) FROM notifications_outboxevent), "
            "(SELECT COALESCE(MAX(seq), 0) FROM notifications_outboxhead)) + 1, false)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(fields=["xid", "id"], name="outbox_xid_id"),
        ),
        migrations.CreateModel(
            name="OutboxWatermark",
            fields=[
                ("id", models.SmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("xid", notifications.models.TransactionIdField(default=0)),
                ("outbox_id", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="notifications_outboxwatermark_single_row"
                    )
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO notifications_outboxwatermark (id, xid, outbox_id) SELECT 1, pg_current_xact_id(), "
            "COALESCE((SELECT through FROM notifications_outboxpublished WHERE id = 1), 0)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.DeleteModel(name="OutboxHead"),
        migrations.DeleteModel(name="OutboxPublished"),
    ]
