"""Publishing outbox rows to Redis: the fast path right after commit, and the relay's batches.

Both publish unpublished rows in outbox id order (= commit order, see events.OUTBOX_LOCK_KEY),
through one Lua script per event (taskflow_contracts.redis_layout.PUBLISH_EVENT_LUA, shared with
the relay's /notify/deadline) that is atomic in Redis: it sets the event's dedupe marker and,
for each recipient, appends the message to their history stream and publishes it (with its
stream id as the cursor) on their channel. A second publish of the same event is a no-op, so the
fast path and the relay may race freely. Layout: taskflow_contracts.redis_layout.
"""

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from redis.commands.core import Script
from redis.exceptions import RedisError
from taskflow_contracts import dedupe_key, user_channel, user_stream
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, PUBLISH_EVENT_LUA

from common.redis import redis_client
from notifications.models import OutboxEvent

logger = logging.getLogger(__name__)

_script: Script | None = None
# After a Redis failure the fast path stands aside until this monotonic time; the relay, which
# has its own backoff, delivers in the meantime. Requests never wait on a Redis outage twice.
_fast_path_paused_until = 0.0


def _publish_script() -> Script:
    global _script
    client = redis_client()
    if _script is None or _script.registered_client is not client:
        _script = client.register_script(PUBLISH_EVENT_LUA)
    return _script


def user_message_json(envelope_json: str, notification: dict[str, object] | None) -> str:
    """A taskflow_contracts.UserMessage as JSON, reusing the envelope serialized once."""
    return (
        '{"event":'
        + envelope_json
        + ',"notification":'
        + json.dumps(notification, separators=(",", ":"), ensure_ascii=False)
        + "}"
    )


def publish_event(row: OutboxEvent) -> bool:
    """Publishes one outbox row to its recipients; False when it had been published already.
    Raises RedisError when Redis cannot be reached."""
    envelope_json = json.dumps(row.envelope, separators=(",", ":"), ensure_ascii=False)
    return _publish(str(row.event_id), envelope_json, row.deliveries)


def _publish(event_id: str, envelope_json: str, deliveries: list[dict[str, Any]]) -> bool:
    if not deliveries:
        return True
    keys = [dedupe_key(event_id)]
    args: list[str | int] = [settings.REALTIME_HISTORY_LENGTH, DEDUPE_TTL_SECONDS, settings.REALTIME_HISTORY_TTL]
    for delivery in deliveries:
        keys += [user_stream(delivery["user_id"]), user_channel(delivery["user_id"])]
        args.append(user_message_json(envelope_json, delivery["notification"]))
    return bool(_publish_script()(keys=keys, args=args))


# Locks and reads the rows to publish in one round trip. The mark that follows commits
# asynchronously (set_config is transaction-local): losing it in a crash only means the relay
# republishes, a no-op in Redis.
_PENDING_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
SELECT o.id, o.event_id::text, o.envelope::text, o.deliveries::text, o.attempts
FROM notifications_outboxevent o, relaxed
WHERE o.published_at IS NULL {conditions}
ORDER BY o.id
LIMIT %s
FOR UPDATE OF o
"""


def outbox_publish_pending(
    *, up_to_id: int | None = None, older_than: timedelta | None = None, limit: int = 200
) -> int:
    """Publishes unpublished rows in id order and marks them published; returns how many.

    The rows are locked while they are published: a second publisher (another request's fast
    path, the relay) waits for them instead of publishing them again, then finds them published
    and moves on — never past an earlier row, so order holds. Stops at the first Redis error
    (recorded on the row, then raised). Runs on every write, hence raw SQL in three round trips
    (lock+read, mark, commit)."""
    conditions = ""
    params: list[Any] = []
    if up_to_id is not None:
        conditions += " AND o.id <= %s"
        params.append(up_to_id)
    if older_than is not None:
        conditions += " AND o.created_at < %s"
        params.append(timezone.now() - older_than)
    published: list[int] = []
    failure: RedisError | None = None
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PENDING_SQL.format(conditions=conditions), [*params, limit])
        for row_id, event_id, envelope_json, deliveries_json, attempts in cursor.fetchall():
            try:
                # Re-serialized compact (PostgreSQL's jsonb text has spaces): consumers may rely
                # on one canonical form, e.g. the relay spotting `"type":"user.revoked"`.
                envelope = json.dumps(json.loads(envelope_json), separators=(",", ":"), ensure_ascii=False)
                _publish(event_id, envelope, json.loads(deliveries_json))
            except RedisError as exc:
                cursor.execute(
                    "UPDATE notifications_outboxevent SET attempts = %s, last_error = %s WHERE id = %s",
                    [attempts + 1, str(exc)[:2000], row_id],
                )
                failure = exc
                break
            published.append(row_id)
        if published:
            cursor.execute(
                "UPDATE notifications_outboxevent SET published_at = %s WHERE id = ANY(%s)",
                [timezone.now(), published],
            )
    if failure is not None:
        raise failure
    return len(published)


def publish_after_commit(outbox_id: int) -> None:
    """The fast path, run by transaction.on_commit: publish now (with any older row still
    waiting, first). Never raises: the event is committed and the relay will deliver it."""
    global _fast_path_paused_until
    if time.monotonic() < _fast_path_paused_until:
        return
    try:
        outbox_publish_pending(up_to_id=outbox_id)
    except RedisError as exc:
        _fast_path_paused_until = time.monotonic() + settings.OUTBOX_FAST_PATH_PAUSE
        logger.warning("Redis unavailable, the outbox relay will deliver event row %s: %s", outbox_id, exc)
    except Exception:
        logger.exception("fast-path publish of outbox row %s failed; the relay will retry", outbox_id)


def fast_path_resume() -> None:
    """Lets the fast path try again at once (after Redis came back; tests)."""
    global _fast_path_paused_until
    _fast_path_paused_until = 0.0


def outbox_prune(*, older_than: timedelta) -> int:
    """Deletes rows published longer ago than `older_than`."""
    deleted, _ = OutboxEvent.objects.filter(published_at__lt=timezone.now() - older_than).delete()
    return deleted


def relay_cycle(*, grace: timedelta, batch: int) -> int:
    """One relay pass (the outbox_relay command loops over it)."""
    close_old_connections()
    return outbox_publish_pending(older_than=grace, limit=batch)
