from importlib import import_module

from django.db import migrations

# notifications_event_emit_traced did its work by calling notifications_event_emit (migrations
# 0009 and 0010) in a statement of its own: a second PL/pgSQL call, its set-returning function
# scan and its result row, about 0.07 ms of database CPU per event (pg_stat_statements with
# track=all, bench.events --part cpu: 0.182 ms for that inner statement against 0.114 ms for the
# statements inside it). The body now runs in the traced function itself; the statements and
# their order are unchanged (the board's number first, then, in a statement of its own whose
# snapshot is taken after any wait for the board's row, the rows and the deliveries).
# notifications_event_emit stays, unused, for a migration back.
TRACED_FUNCTION = """
CREATE OR REPLACE FUNCTION notifications_event_emit_traced(
    p_request_id varchar,
    p_event_id uuid, p_type varchar, p_envelope jsonb, p_recipients jsonb, p_created_at timestamptz,
    p_stamp text, p_notified jsonb, p_plain jsonb, p_board bigint, p_marks jsonb, p_activity_task bigint,
    p_actor_id bigint, p_actor_name varchar,
    OUT outbox_row bigint, OUT board_number bigint, OUT row_deliveries jsonb
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- The outbox row's request_id column defaults to this transaction-local setting (0010).
    PERFORM set_config('taskflow.request_id', COALESCE(p_request_id, ''), true);
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
            (event_id, type, envelope, recipients, deliveries, board_project, board_seq, created_at, attempts,
             last_error)
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


# Migration 0010's wrapper, for a migration back.
WRAPPER_FUNCTION = import_module("notifications.migrations.0010_outboxevent_request_id").TRACED_FUNCTION


class Migration(migrations.Migration):
    """The write path's function in one PL/pgSQL call instead of two (see TRACED_FUNCTION)."""

    dependencies = [("notifications", "0011_outbox_channels_finished")]

    operations = [migrations.RunSQL(TRACED_FUNCTION, reverse_sql=WRAPPER_FUNCTION)]
