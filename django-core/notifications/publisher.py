"""Publishing outbox rows to Redis: the fast path right after commit, and the relay's batches.

One Lua script per event (taskflow_contracts.redis_layout.PUBLISH_OUTBOX_EVENT_LUA), atomic in
Redis: it sets the event's dedupe marker and, for each recipient, appends the message to their
history stream and publishes it (with its stream id as the cursor) on their channel. A second
publish of the same event is a no-op, so the fast path and the relay may race freely.

Order. Outbox ids are handed out gapless and in commit order (models.OUTBOX_NEXT_ID_SQL), so
every event knows the id of the one committed just before it: id - 1. Redis keeps the id of the
last event published; an event whose predecessor is not out yet is held there and released
right after it. So the fast path needs no database round trip at all: it publishes from memory
after commit, and publish order is commit order whichever request gets to Redis first. What the
fast path could not do (the process died after commit, Redis was down) the outbox relay does: it
walks the rows after its watermark in id order, publishes them (force: everything before them is
out), which also releases what waited on them, and moves the watermark past them (one row, one
UPDATE per batch; the outbox rows themselves are never updated for this).
"""

import json
import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from taskflow_contracts import dedupe_key, user_channel, user_stream
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, PUBLISH_OUTBOX_EVENT_LUA

from common.redis import redis_client
from notifications.models import OutboxEvent, OutboxPublished

logger = logging.getLogger(__name__)

# What the script answers.
ALREADY_PUBLISHED, PUBLISHED, HELD = 0, 1, 2

_script: Script | None = None
# After a Redis failure the fast path stands aside until this monotonic time; the relay, which
# has its own backoff, delivers in the meantime. Requests never wait on a Redis outage twice.
_fast_path_paused_until = 0.0


def _publish_script() -> Script:
    global _script
    client = redis_client()
    if _script is None or _script.registered_client is not client:
        _script = client.register_script(PUBLISH_OUTBOX_EVENT_LUA)
    return _script


def user_message_json(envelope_json: str, notification: dict[str, object] | None) -> str:
    """A taskflow_contracts.UserMessage as JSON, reusing the envelope serialized once."""
    return '{"event":' + envelope_json + ',"notification":' + compact_json(notification) + "}"


def compact_json(value: Any) -> str:
    """The one canonical form published (consumers may rely on it, e.g. the relay spotting
    `"type":"user.revoked"`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _script_call(
    event_id: str,
    envelope_json: str,
    deliveries: list[dict[str, Any]],
    *,
    seq: int,
    prev: int | None,
    force: bool,
) -> tuple[list[str], list[str | int]]:
    keys = [dedupe_key(event_id)]
    args: list[str | int] = [
        settings.REALTIME_HISTORY_LENGTH,
        DEDUPE_TTL_SECONDS,
        settings.REALTIME_HISTORY_TTL,
        seq,
        "" if prev is None else prev,
        1 if force else 0,
    ]
    for delivery in deliveries:
        keys += [user_stream(delivery["user_id"]), user_channel(delivery["user_id"])]
        args.append(user_message_json(envelope_json, delivery["notification"]))
    return keys, args


def publish_event(row: OutboxEvent, *, prev: int | None = None, force: bool = True) -> int:
    """Publishes one outbox row to its recipients; returns ALREADY_PUBLISHED, PUBLISHED or HELD.
    Raises RedisError when Redis cannot be reached."""
    keys, args = _script_call(
        str(row.event_id), compact_json(row.envelope), row.deliveries, seq=row.pk, prev=prev, force=force
    )
    return int(_publish_script()(keys=keys, args=args))


# The relay's watermark: every outbox row with an id up to `through` is published. Read and
# locked in one round trip (a second relay waits here), recreated at 0 if the row is gone; the
# update that follows commits asynchronously (set_config is transaction-local): losing it in a
# crash only means the relay publishes a batch again, a no-op in Redis.
_WATERMARK_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO notifications_outboxpublished AS published (id, through)
SELECT 1, 0 FROM relaxed
ON CONFLICT (id) DO UPDATE SET through = published.through
RETURNING through
"""

# The rows after the watermark, in id order: ids are handed out in commit order, so no row the
# relay cannot see yet (its transaction still open) can ever sort before one it does see.
_AFTER_SQL = """
SELECT id, event_id::text, attempts, created_at FROM notifications_outboxevent
WHERE id > %s ORDER BY id LIMIT %s
"""


def outbox_publish_pending(*, older_than: timedelta | None = None, limit: int = 200) -> int:
    """The relay's pass: publishes the rows after the watermark in id order, stopping at the
    first one younger than `older_than` (the fast path's turn), and moves the watermark past
    them; returns how many rows it moved it over.

    Rows are never updated for this: the watermark row is, once per pass, and its lock keeps two
    relays from walking the same rows. It moves up to the first row Redis refused (recorded on
    the row, then raised): that row and the rest are published again on the next pass, a no-op
    for any that made it out."""
    cutoff = None if older_than is None else timezone.now() - older_than
    marked: list[int] = []
    failure: Exception | None = None
    outcomes: dict[int, int | Exception] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_WATERMARK_SQL)
        through = cursor.fetchone()[0]
        cursor.execute(_AFTER_SQL, [through, limit])
        rows = []
        for row_id, event_id, attempts, created_at in cursor.fetchall():
            if cutoff is not None and created_at >= cutoff:
                break  # this one and everything after it are the fast path's for now
            rows.append((row_id, event_id, attempts))
        if not rows:
            return 0
        outcomes = _publish_missing(cursor, [(row_id, event_id) for row_id, event_id, _attempts in rows])
        for row_id, _event_id, attempts in rows:
            outcome = outcomes.get(row_id, ALREADY_PUBLISHED)
            if isinstance(outcome, Exception):
                cursor.execute(
                    "UPDATE notifications_outboxevent SET attempts = %s, last_error = %s WHERE id = %s",
                    [attempts + 1, str(outcome)[:2000], row_id],
                )
                failure = outcome
                break
            marked.append(row_id)
        if marked:
            cursor.execute("UPDATE notifications_outboxpublished SET through = %s WHERE id = 1", [marked[-1]])
    published_here = sum(1 for outcome in outcomes.values() if outcome == PUBLISHED)
    if published_here:
        logger.info("published %d event(s) the fast path had not", published_here)
    if failure is not None:
        raise failure if isinstance(failure, RedisError) else RedisError(str(failure))
    return len(marked)


def outbox_published_through() -> int:
    """The relay's watermark: every outbox row with an id up to it is published."""
    return OutboxPublished.objects.filter(pk=1).values_list("through", flat=True).first() or 0


def outbox_unpublished_count() -> int:
    """Rows the relay has not passed yet (the fast path may have published them already)."""
    return OutboxEvent.objects.filter(pk__gt=outbox_published_through()).count()


def _publish_missing(cursor: Any, rows: list[tuple[int, str]]) -> dict[int, int | Exception]:
    """Redis's answer for each of these (row id, event id), in id order, that was not out yet
    (rows already out are left out): the script's result, or the error. Which are out already
    (nearly all: the fast path got there) is asked in one pipelined round trip; only the others
    are read in full and published, with force (everything before them is out), which also
    releases events the fast path had held back behind them."""
    client = redis_client()
    checks = client.pipeline(transaction=False)
    for _row_id, event_id in rows:
        checks.exists(dedupe_key(event_id))
    try:
        out = checks.execute()
    except RedisError as exc:  # Redis unreachable: nothing is known to be out
        return {rows[0][0]: exc}
    missing = {row_id: event_id for (row_id, event_id), done in zip(rows, out, strict=True) if not done}
    if not missing:
        return {}
    cursor.execute(
        "SELECT id, envelope::text, deliveries::text FROM notifications_outboxevent WHERE id = ANY(%s) ORDER BY id",
        [list(missing)],
    )
    script = _publish_script()
    pipe = client.pipeline(transaction=False)
    published: list[int] = []
    for row_id, envelope_json, deliveries_json in cursor.fetchall():
        # Re-serialized compact: PostgreSQL's jsonb text has spaces.
        keys, args = _script_call(
            missing[row_id],
            compact_json(json.loads(envelope_json)),
            json.loads(deliveries_json),
            seq=row_id,
            prev=None,
            force=True,
        )
        script(keys=keys, args=args, client=pipe)
        published.append(row_id)
    try:
        answers = pipe.execute(raise_on_error=False)
    except RedisError as exc:  # the connection itself failed: nothing is known to be out
        answers = [exc] * len(published)
    return dict(zip(published, answers, strict=True))


class _FastPathConnection(threading.local):
    """Each thread's own Redis connection for the fast path, made with the client's settings
    (timeouts, database, credentials) and kept while that client is the process's client.
    One EVALSHA on it skips redis-py's pool, retry and command layers, which cost more CPU than
    the call itself; a request thread makes one call per event and never shares it."""

    pool: Any = None
    connection: Any = None
    pid = 0  # a connection inherited through fork() is the parent's: never used by the child


_fast_path_connection = _FastPathConnection()


def _fast_path_call(keys: list[str], args: list[str | int]) -> int:
    """Runs the publish script on this thread's connection; returns the script's answer. Loads
    the script after a NOSCRIPT (Redis restarted, SCRIPT FLUSH) and reconnects once when Redis
    had closed the connection (restart, idle timeout): the script is idempotent, so sending it
    again is safe. Raises RedisError otherwise (a timeout is not retried: a request waits on a
    hung Redis once)."""
    client = redis_client()
    local = _fast_path_connection
    pid = os.getpid()
    if local.pool is not client.connection_pool or local.pid != pid:
        if local.connection is not None and local.pid == pid:
            local.connection.disconnect()
        pool = client.connection_pool
        local.pool, local.connection, local.pid = pool, pool.connection_class(**pool.connection_kwargs), pid
    connection = local.connection
    script = _publish_script()
    command = connection.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
    loaded = reconnected = False
    while True:
        try:
            connection.send_packed_command(command)
            return int(connection.read_response())
        except NoScriptError:
            if loaded:
                raise
            loaded = True
            connection.send_packed_command(connection.pack_command("SCRIPT", "LOAD", script.script))
            connection.read_response()
        except RedisConnectionError:
            connection.disconnect()
            if reconnected:
                raise
            reconnected = True
        except (RedisError, OSError):
            connection.disconnect()
            raise


def publish_after_commit(
    *, outbox_id: int, prev_id: int | None, event_id: str, envelope_json: str, deliveries: list[dict[str, Any]]
) -> None:
    """The fast path, run by transaction.on_commit: publish now, from memory (no database round
    trip; the relay marks the row later). Never raises: the event is committed and the relay
    will deliver it."""
    global _fast_path_paused_until
    if time.monotonic() < _fast_path_paused_until:
        return
    keys, args = _script_call(event_id, envelope_json, deliveries, seq=outbox_id, prev=prev_id, force=False)
    try:
        _fast_path_call(keys, args)
    except (RedisError, OSError) as exc:
        _fast_path_paused_until = time.monotonic() + settings.OUTBOX_FAST_PATH_PAUSE
        logger.warning("Redis unavailable, the outbox relay will deliver event row %s: %s", outbox_id, exc)
    except Exception:
        logger.exception("fast-path publish of outbox row %s failed; the relay will retry", outbox_id)


def fast_path_resume() -> None:
    """Lets the fast path try again at once (after Redis came back; tests)."""
    global _fast_path_paused_until
    _fast_path_paused_until = 0.0


def outbox_prune(*, older_than: timedelta) -> int:
    """Deletes rows written longer ago than `older_than` that the relay has passed (published)
    and whose emails and Telegram messages, if any, were handed on (to the worker; to the bot's
    stream as deliveries that keep their own copy of the event). The created_at condition is what
    the BRIN index serves."""
    cutoff = timezone.now() - older_than
    deleted, _ = (
        OutboxEvent.objects.filter(created_at__lt=cutoff, pk__lte=outbox_published_through())
        .exclude(needs_channels=True, channels_dispatched_at__isnull=True)
        .exclude(needs_telegram=True, telegram_dispatched_at__isnull=True)
        .delete()
    )
    return deleted


def relay_cycle(*, grace: timedelta, batch: int) -> int:
    """One relay pass (the outbox_relay command loops over it)."""
    close_old_connections()
    return outbox_publish_pending(older_than=grace, limit=batch)
