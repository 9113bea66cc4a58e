from django.db import migrations, models

# The request id reaches the outbox row without touching notifications_event_emit (migration
# 0009): the column's default is the transaction's `taskflow.request_id` setting, which this
# wrapper sets (transaction-local, so PgBouncer's transaction mode keeps it) before calling the
# function in the same statement: no extra round trip, the write path's plan cache intact.
TRACED_FUNCTION = """
CREATE OR REPLACE FUNCTION notifications_event_emit_traced(
    p_request_id varchar,
    p_event_id uuid, p_type varchar, p_envelope jsonb, p_recipients jsonb, p_created_at timestamptz,
    p_stamp text, p_notified jsonb, p_plain jsonb, p_board bigint, p_marks jsonb, p_activity_task bigint,
    p_actor_id bigint, p_actor_name varchar,
    OUT outbox_row bigint, OUT board_number bigint, OUT row_deliveries jsonb
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('taskflow.request_id', COALESCE(p_request_id, ''), true);
    SELECT e.outbox_row, e.board_number, e.row_deliveries INTO outbox_row, board_number, row_deliveries
    FROM notifications_event_emit(
        p_event_id, p_type, p_envelope, p_recipients, p_created_at, p_stamp, p_notified, p_plain, p_board,
        p_marks, p_activity_task, p_actor_id, p_actor_name
    ) AS e;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("notifications", "0009_outbox_without_head")]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="request_id",
            field=models.CharField(blank=True, db_default="", editable=False, max_length=128),
        ),
        migrations.RunSQL(
            "ALTER TABLE notifications_outboxevent ALTER COLUMN request_id"
            " SET DEFAULT COALESCE(current_setting('taskflow.request_id', true), '')",
            reverse_sql="ALTER TABLE notifications_outboxevent ALTER COLUMN request_id SET DEFAULT ''",
        ),
        migrations.RunSQL(
            TRACED_FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS notifications_event_emit_traced(varchar, "
            "uuid, varchar, jsonb, jsonb, timestamptz, text, jsonb, jsonb, bigint, jsonb, bigint, bigint, varchar)",
        ),
    ]
