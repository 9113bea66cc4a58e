import django.db.models.expressions
from django.db import migrations, models

import notifications.models

# The write path's statement (notifications.events.event_emit), as a function so that PostgreSQL
# plans it once per server connection: PL/pgSQL caches its statements' plans in the backend, which
# PgBouncer's transaction mode cannot take away (nothing of it lives in the client's session),
# where planning the statement on each call cost about 0.5 ms of database CPU per event. VOLATILE:
# in READ COMMITTED each of its statements takes a fresh snapshot, so the deliveries read the
# memberships as they are after the wait for the board's row (a membership change committed by
# the writer waited for is seen). See notifications.events for what it writes.
EMIT_FUNCTION = """
CREATE OR REPLACE FUNCTION notifications_event_emit(
    p_event_id uuid, p_type varchar, p_envelope jsonb, p_recipients jsonb, p_created_at timestamptz,
    p_stamp text, p_notified jsonb, p_plain jsonb, p_board bigint, p_marks jsonb, p_activity_task bigint,
    p_actor_id bigint, p_actor_name varchar,
    OUT outbox_row bigint, OUT board_number bigint, OUT row_deliveries jsonb
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The board's next number; its row stays locked until the transaction ends.
    IF p_board IS NOT NULL THEN
        INSERT INTO notifications_boardsequence AS board (project_id, seq) VALUES (p_board, 1)
        ON CONFLICT (project_id) DO UPDATE SET seq = board.seq + 1
        RETURNING board.seq INTO board_number;
    END IF;
    -- One Notification per web recipient; the outbox row whose deliveries are those
    -- notifications plus a frame without one for each other socket to reach (p_plain, and the
    -- board's active members now), in user id order, each with its board marks; and the task's
    -- history entry when there is one.
    WITH notified AS (
        INSERT INTO notifications_notification (recipient_id, event_id, type, message, data, is_read, created_at)
        SELECT (r.value ->> 0)::bigint, p_event_id, p_type, r.value ->> 1, p_envelope -> 'data', false, p_created_at
        FROM jsonb_array_elements(p_notified) AS r
        RETURNING recipient_id, id, message
    ), others AS (
        SELECT p.value::bigint AS user_id FROM jsonb_array_elements_text(p_plain) AS p
        UNION
        SELECT m.user_id FROM projects_membership m JOIN accounts_user u ON u.id = m.user_id
        WHERE m.project_id = p_board AND u.is_active
    ), delivered AS (
        SELECT n.recipient_id AS user_id, jsonb_build_object(
            'id', n.id, 'message', n.message, 'is_read', false, 'created_at', p_stamp
        ) AS notification
        FROM notified n
        UNION ALL
        SELECT o.user_id, 'null'::jsonb FROM others o WHERE o.user_id NOT IN (SELECT recipient_id FROM notified)
    ), outbox AS (
        INSERT INTO notifications_outboxevent AS e
            (event_id, type, envelope, recipients, deliveries, board_project, board_seq, created_at, attempts, last_error)
        VALUES (
            p_event_id, p_type, p_envelope, p_recipients,
            COALESCE((SELECT jsonb_agg(
                jsonb_build_object('user_id', d.user_id, 'notification', d.notification)
                || COALESCE(p_marks -> d.user_id::text, p_marks -> '*', '{}'::jsonb)
                ORDER BY d.user_id
            ) FROM delivered d), '[]'::jsonb),
            p_board, board_number, clock_timestamp(), 0, ''
        )
        RETURNING e.id, e.deliveries
    ), activity AS (
        INSERT INTO tasks_taskactivity (task_id, event_id, type, actor_id, actor_name, data, occurred_at)
        SELECT p_activity_task, p_event_id, p_type, p_actor_id, p_actor_name, p_envelope -> 'data', p_created_at
        WHERE p_activity_task IS NOT NULL
    )
    SELECT o.id, o.deliveries INTO outbox_row, row_deliveries FROM outbox o;
END
$$
"""


class Migration(migrations.Migration):
    """No head row, no gapless ids (docs/scaling.md): outbox ids come from an identity sequence;
    each row keeps the id of its transaction (`xid`) for the relay's walk, and a board event its
    project's board number (BoardSequence, one row per project). The relay's watermark becomes
    (xid, id): every row up to the old watermark got this migration's xid, so the new one starts
    at (that xid, the old id)."""

    dependencies = [
        ("notifications", "0008_event_types_for_boards"),
        ("projects", "0001_initial"),
        ("tasks", "0004_task_rank_activity"),
    ]

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
        migrations.RunSQL(
            EMIT_FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS notifications_event_emit("
            "uuid, varchar, jsonb, jsonb, timestamptz, text, jsonb, jsonb, bigint, jsonb, bigint, bigint, varchar)",
        ),
    ]
