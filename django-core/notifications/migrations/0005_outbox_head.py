import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def next_outbox_id() -> int:
    """The default of OutboxEvent.id between this migration and 0009 (which dropped the head)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_outboxhead AS head (id, seq) "
            "VALUES (1, (SELECT COALESCE(MAX(id), 0) + 1 FROM notifications_outboxevent)) "
            "ON CONFLICT (id) DO UPDATE SET seq = head.seq + 1 RETURNING seq"
        )
        return int(cursor.fetchone()[0])


class Migration(migrations.Migration):
    """Outbox ids from one head row instead of an identity sequence and an advisory lock: the
    write path takes the next id, writes its notifications and its outbox row in one statement,
    and the head row's lock (held to the commit) keeps ids gapless and in commit order. The head
    starts at the largest id written so far. Also drops the recipient index of notifications,
    which the two indexes leading with the recipient make redundant."""

    dependencies = [
        ("notifications", "0004_outbox_created_brin"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OutboxHead",
            fields=[
                ("id", models.SmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="notifications_outboxhead_single_row")
                ],
            },
        ),
        migrations.RunSQL(
            # Every event updates the one row: its dead versions are pruned on the page as it
            # goes (HOT), and autovacuum should not wait for the default 20 % of one row.
            "INSERT INTO notifications_outboxhead (id, seq) "
            "SELECT 1, COALESCE(MAX(id), 0) FROM notifications_outboxevent; "
            "ALTER TABLE notifications_outboxhead SET (autovacuum_vacuum_scale_factor = 0, "
            "autovacuum_vacuum_threshold = 1000)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="outboxevent",
            name="id",
            field=models.BigIntegerField(default=next_outbox_id, primary_key=True, serialize=False),
        ),
        migrations.AlterField(
            model_name="notification",
            name="recipient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
