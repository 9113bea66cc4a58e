"""Publishing outbox rows to Redis: the fast path right after commit, and the outbox relay's passes
(docs/scaling.md "Nothing committed is lost, nothing is published twice").

Each recipient's delivery is one call of taskflow_contracts.redis_layout.DELIVER_LUA, all of
whose keys are that user's (one hash slot): history stream, live frame (SPUBLISH), dedupe by
event id, and for a board event the board's order (a delivery that arrives before its
predecessor is held in Redis and released right after it). The calls of an event, or of a
relay pass, go out in one round trip, not as a transaction: packed by hand on one pooled
connection of a single node or Sentinel's primary (redis-py's pipeline layer cost about 0.1 ms of
CPU more per event of six recipients: 0.36 against 0.27 ms, fast path alone), through redis-py's
pipeline on a Redis Cluster (split per node). Once every recipient has it (each call answered 0 or 1), the
event's `outbox:done:{id}` marker is set. A second delivery is a no-op, so the fast path and the
relay may race freely. docs/events.md "Write path and delivery".

The relay walks the rows after its watermark (xid, id) whose transactions are all over, asks
Redis which are done, delivers the others in board order, marks them done and moves the
watermark past the prefix of rows done and settled (asked about again once older than
OUTBOX_SETTLE, which a Sentinel switch-over's lost writes need).
"""

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from redis.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from taskflow_contracts.logs import log_context
from taskflow_contracts.redis_layout import DEDUPE_TTL_SECONDS, DELIVER_LUA, outbox_done_key, user_delivery_keys

from common.observability import outbox_metrics
from common.redis import redis_client
from notifications.models import OutboxEvent, OutboxWatermark

logger = logging.getLogger(__name__)

# What DELIVER_LUA answers for one recipient.
ALREADY_DELIVERED, DELIVERED, HELD = 0, 1, 2

_DELIVER_SHA = hashlib.sha1(DELIVER_LUA.encode(), usedforsecurity=False).hexdigest()

# After a Redis failure the fast path stands aside until this monotonic time; the relay, which
# has its own backoff, delivers in the meantime. Requests never wait on a Redis outage twice.
_fast_path_paused_until = 0.0


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """What publishing an outbox row needs: the event, its board number if any, and per
    recipient the notification and board marks (OutboxEvent.deliveries)."""

    event_id: str
    envelope_json: str  # compact, as serialized once by event_emit
    board_project: int | None
    board_seq: int | None
    deliveries: Sequence[dict[str, Any]]
    force: bool = False  # deliver even when a board predecessor is missing (old rows, the relay)
    # The request that caused the event (OutboxEvent.request_id): carried to the logs of the
    # consumers (DELIVER_LUA's request_id), never into the envelope.
    request_id: str = ""


def user_message_json(envelope_json: str, notification: dict[str, object] | None) -> str:
    """A taskflow_contracts.UserMessage as JSON, reusing the envelope serialized once."""
    return '{"event":' + envelope_json + ',"notification":' + compact_json(notification) + "}"


def compact_json(value: Any) -> str:
    """The one canonical form published (consumers may rely on it, e.g. the relay spotting
    `"type":"user.revoked"`)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def delivery_call(message: OutboxMessage, delivery: dict[str, Any], now: int) -> tuple[list[str], list[str | int]]:
    """DELIVER_LUA's KEYS and ARGV for one recipient of the event."""
    board = message.board_project is not None and message.board_seq is not None
    after = "" if not board or delivery.get("baseline") else message.board_seq - 1  # type: ignore[operator]
    flags = ("f" if message.force else "") + ("r" if board and delivery.get("reset") else "")
    return user_delivery_keys(delivery["user_id"]), [
        settings.REALTIME_HISTORY_LENGTH,
        settings.REALTIME_HISTORY_TTL,
        DEDUPE_TTL_SECONDS,
        now,
        message.event_id,
        user_message_json(message.envelope_json, delivery["notification"]),
        message.board_project if board else "",
        message.board_seq if board else "",
        after,
        flags,
        message.request_id,
    ]


Command = tuple[str | int, ...]


@contextlib.contextmanager
def _round_trips(client: Any) -> Iterator[Callable[[list[Command]], list[Any]]]:
    """A function that sends commands in one round trip and answers each one's reply (an error
    reply as its exception, in its place). Raises RedisError when Redis cannot be reached.

    On a single node or Sentinel's primary, one connection of the client's pool for the block,
    commands packed on it: redis-py's pipeline layer costs more CPU than that (about 0.1 ms per
    event of six recipients, see the module). A connection Redis
    closed (a restart, an idle timeout, a failover) is reconnected once and the commands sent
    again, which the scripts and SET allow. On a Cluster, redis-py's pipeline, which splits the
    commands by node."""
    if isinstance(client, RedisCluster):

        def pipelined(commands: list[Command]) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                # execute_command: ClusterPipeline refuses its evalsha() method, not the command.
                pipe.execute_command(*command)
            return list(pipe.execute(raise_on_error=False))

        yield pipelined
        return
    pool = client.connection_pool
    connection = pool.get_connection()

    def packed(commands: list[Command]) -> list[Any]:
        for attempt in (1, 2):
            try:
                connection.send_packed_command(connection.pack_commands(commands))
                replies: list[Any] = []
                for _ in commands:
                    try:
                        replies.append(connection.read_response())
                    except ResponseError as error:
                        replies.append(error)
                return replies
            except RedisConnectionError:
                connection.disconnect()
                if attempt == 2:
                    raise
            except BaseException:  # a timeout included: a request waits on a hung Redis once
                connection.disconnect()
                raise
        raise AssertionError("unreachable")

    try:
        yield packed
    finally:
        pool.release(connection)


def _deliver(
    round_trip: Callable[[list[Command]], list[Any]], calls: list[tuple[list[str], list[str | int]]]
) -> list[Any]:
    """DELIVER_LUA's answer to each call (or the error it met), in order. A Redis that has not
    seen the script yet (a restart, SCRIPT FLUSH, a new Cluster node) answers NOSCRIPT: the
    script is loaded and those calls, which did nothing, go again."""
    if not calls:
        return []
    commands: list[Command] = [("EVALSHA", _DELIVER_SHA, len(keys), *keys, *args) for keys, args in calls]
    answers = round_trip(commands)
    missing = [index for index, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
    if missing:
        redis_client().script_load(DELIVER_LUA)  # on a Cluster: on every primary
        for index, answer in zip(missing, round_trip([commands[i] for i in missing]), strict=True):
            answers[index] = answer
    return answers


def outbox_messages_publish(messages: Sequence[OutboxMessage]) -> list[bool | Exception]:
    """Delivers each message to each of its recipients, in the order given (one round trip), and
    marks done (`outbox:done:{id}`) those every recipient now has (a second one); for each
    message whether it is done, or the first error one of its deliveries met. A delivery held for
    its board predecessor leaves its message not done. Raises RedisError when Redis cannot be
    reached."""
    now = int(time.time())
    calls = [delivery_call(message, delivery, now) for message in messages for delivery in message.deliveries]
    with _round_trips(redis_client()) as round_trip:
        answers = iter(_deliver(round_trip, calls))
        outcomes: list[bool | Exception] = []
        for message in messages:
            mine = [next(answers) for _ in message.deliveries]
            error = next((answer for answer in mine if isinstance(answer, Exception)), None)
            delivered = all(answer in (ALREADY_DELIVERED, DELIVERED) for answer in mine)
            outcomes.append(error if error is not None else delivered)
        done = [message.event_id for message, outcome in zip(messages, outcomes, strict=True) if outcome is True]
        if done:
            for reply in round_trip(
                [("SET", outbox_done_key(event_id), 1, "EX", DEDUPE_TTL_SECONDS) for event_id in done]
            ):
                if isinstance(reply, Exception):
                    raise reply
    return outcomes


def outbox_message_of(row: OutboxEvent, *, force: bool = False) -> OutboxMessage:
    return OutboxMessage(
        event_id=str(row.event_id),
        envelope_json=compact_json(row.envelope),
        board_project=row.board_project,
        board_seq=row.board_seq,
        deliveries=row.deliveries,
        force=force,
        request_id=row.request_id,
    )


# --- The fast path -------------------------------------------------------------------------------


def publish_after_commit(*, messages: Sequence[OutboxMessage], emitted_at: Sequence[float] = ()) -> None:
    """The fast path, run by transaction.on_commit: publish now, from memory (no database round
    trip), the events one write emitted (notifications.events.events_emit), in their order and in
    the same round trips. Never raises: the events are committed and the relay will deliver what
    this did not."""
    global _fast_path_paused_until
    if time.monotonic() < _fast_path_paused_until:
        return
    names = ", ".join(message.event_id for message in messages)
    try:
        outcomes = outbox_messages_publish(messages)
    except (RedisError, OSError) as exc:
        _fast_path_paused_until = time.monotonic() + settings.OUTBOX_FAST_PATH_PAUSE
        logger.warning("Redis unavailable, the outbox relay will deliver event %s: %s", names, exc)
        outbox_metrics.FAST_PATH_FAILURES.inc(len(messages))
        return
    except Exception:
        logger.exception("fast-path publish of event %s failed; the relay will retry", names)
        outbox_metrics.FAST_PATH_FAILURES.inc(len(messages))
        return
    for position, (message, outcome) in enumerate(zip(messages, outcomes, strict=True)):
        if isinstance(outcome, Exception):
            logger.warning("Redis refused a delivery of event %s; the relay will retry: %s", message.event_id, outcome)
            outbox_metrics.FAST_PATH_FAILURES.inc()
        elif outcome:
            outbox_metrics.fast_path_published(emitted_at[position] if position < len(emitted_at) else None)


def fast_path_resume() -> None:
    """Lets the fast path try again at once (after Redis came back; tests)."""
    global _fast_path_paused_until
    _fast_path_paused_until = 0.0


# --- The outbox relay ----------------------------------------------------------------------------

# Every transaction with a smaller id than this is over (committed or rolled back): no outbox row
# with a smaller xid can appear later. Taken before the relay's own transaction has an id.
_XMIN_SQL = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"

# The relay's watermark, read and locked in one round trip (a second relay waits here), recreated
# at the start if the row is gone; the update that follows commits asynchronously (set_config is
# transaction-local): losing it in a crash only means the relay checks a batch again, a no-op.
_WATERMARK_SQL = """
WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO notifications_outboxwatermark AS mark (id, xid, outbox_id)
SELECT 1, '0'::xid8, 0 FROM relaxed
ON CONFLICT (id) DO UPDATE SET outbox_id = mark.outbox_id
RETURNING xid::text, outbox_id
"""

# The rows after the watermark whose transactions are over, oldest first.
_AFTER_SQL = """
SELECT id, xid::text, event_id::text, created_at, attempts FROM notifications_outboxevent
WHERE (xid, id) > (%s::xid8, %s) AND xid < %s::xid8
ORDER BY xid, id LIMIT %s
"""


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    xid: str
    event_id: str
    created_at: Any
    attempts: int


# Rows this process's passes found done that have not settled yet: not asked about again until
# they have (ids; rows the watermark passed are dropped).
_seen_done: set[int] = set()


def outbox_publish_pending(
    *, older_than: timedelta | None = None, limit: int = 2000, settle: timedelta | None = None
) -> int:
    """The relay's pass: publishes the rows after the watermark, stopping at the first one
    younger than `older_than` (the fast path's turn), and moves the watermark past the prefix of
    rows that are done and settled; returns how many rows it moved it over.

    Settled: older than `settle` (OUTBOX_SETTLE) when Redis was asked about them. After a
    Sentinel switch-over the demoted primary takes writes for a few seconds more and then loses
    them, done markers included; a row is asked about again once that window is over, on the new
    primary, and delivered again if its marker is gone. A row found done earlier is not asked
    about again before then.

    Rows are never updated for this (but for a Redis error, recorded on the row it stopped at,
    then raised): the watermark row is, once per pass, and its lock keeps two relays from walking
    the same rows. A row whose delivery to someone is held for its board predecessor stops the
    watermark until the predecessor is out; past OUTBOX_FORCE_AFTER it is delivered regardless."""
    now = timezone.now()
    cutoff = None if older_than is None else now - older_than
    settled_before = now - (timedelta(seconds=settings.OUTBOX_SETTLE) if settle is None else settle)
    force_before = now - timedelta(seconds=settings.OUTBOX_FORCE_AFTER)
    failure: Exception | None = None
    passed: list[_Row] = []
    published_here = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_XMIN_SQL)
        xmin = cursor.fetchone()[0]
        cursor.execute(_WATERMARK_SQL)
        mark_xid, mark_id = cursor.fetchone()
        cursor.execute(_AFTER_SQL, [mark_xid, mark_id, xmin, limit])
        rows: list[_Row] = []
        for found in cursor.fetchall():
            row = _Row(*found)
            if cutoff is not None and row.created_at >= cutoff:
                break  # this one and everything after it are the fast path's for now
            rows.append(row)
        if not rows:
            return 0
        ask = [row for row in rows if row.id not in _seen_done or row.created_at < settled_before]
        done: dict[int, bool | Exception] = {row.id: True for row in rows if row.id in _seen_done}
        try:
            asked, published_here = _publish_missing(cursor, ask, force_before=force_before)
            done.update({row.id: asked.get(row.id, False) for row in ask})
        except RedisError as exc:  # Redis unreachable: nothing is known to be out
            done, failure = {}, exc
        _seen_done.update(row_id for row_id, outcome in done.items() if outcome is True)
        for row in rows:
            outcome = done.get(row.id, False)
            if outcome is True and row.created_at < settled_before:
                passed.append(row)
                continue
            if isinstance(outcome, Exception):
                failure = outcome
            if failure is not None:  # recorded on the row the watermark stops at
                cursor.execute(
                    "UPDATE notifications_outboxevent SET attempts = %s, last_error = %s WHERE id = %s",
                    [row.attempts + 1, str(failure)[:2000], row.id],
                )
            break  # an error, a delivery held for its board predecessor, or a row not settled yet
        if passed:
            cursor.execute(
                "UPDATE notifications_outboxwatermark SET xid = %s::xid8, outbox_id = %s WHERE id = 1",
                [passed[-1].xid, passed[-1].id],
            )
    _seen_done.difference_update(row.id for row in passed)
    if len(_seen_done) > 4 * limit:  # rows the watermark will not reach here (another relay's, a reset)
        _seen_done.clear()
    if published_here:
        logger.info("published %d event(s) the fast path had not", published_here)
    if failure is not None:
        raise failure if isinstance(failure, RedisError) else RedisError(str(failure))
    return len(passed)


def _publish_missing(cursor: Any, rows: list[_Row], *, force_before: Any) -> tuple[dict[int, bool | Exception], int]:
    """Which of these rows are done now ({row id: True, False (held) or the error}), and how many
    the relay delivered itself. Which are done already (nearly all: the fast path got there) is
    asked in one pipelined round trip; only the others are read in full and published, in board
    order, which also releases deliveries the fast path had held behind them."""
    client = redis_client()
    checks = client.pipeline(transaction=False)
    for row in rows:
        checks.exists(outbox_done_key(row.event_id))
    done: dict[int, bool | Exception] = {
        row.id: True for row, marked in zip(rows, checks.execute(), strict=True) if marked
    }
    missing = [row.id for row in rows if row.id not in done]
    if not missing:
        return done, 0
    cursor.execute(
        "SELECT id, event_id::text, envelope::text, deliveries::text, board_project, board_seq, created_at,"
        " request_id FROM notifications_outboxevent WHERE id = ANY(%s)",
        [missing],
    )
    order = {row_id: position for position, row_id in enumerate(missing)}
    found = sorted(cursor.fetchall(), key=lambda r: (r[4] or 0, r[5] or 0, order[r[0]]))
    messages = [
        OutboxMessage(
            event_id=event_id,
            # Re-serialized compact: PostgreSQL's jsonb text has spaces.
            envelope_json=compact_json(json.loads(envelope_json)),
            board_project=board_project,
            board_seq=board_seq,
            deliveries=json.loads(deliveries_json),
            force=created_at < force_before,
            request_id=request_id,
        )
        for _id, event_id, envelope_json, deliveries_json, board_project, board_seq, created_at, request_id in found
    ]
    for message in messages:
        with log_context(request_id=message.request_id or None, event_id=message.event_id):
            logger.info("relaying event the fast path did not publish")
    outcomes = outbox_messages_publish(messages)
    outbox_metrics.relay_published(found, outcomes)
    done.update((row[0], outcome) for row, outcome in zip(found, outcomes, strict=True))
    return done, sum(1 for outcome in outcomes if outcome is True)


def outbox_published() -> Exists:
    """An outbox row is published when it is at or before the relay's watermark in (xid, id)
    order (none is while the watermark row does not exist)."""
    return Exists(
        OutboxWatermark.objects.filter(
            Q(xid__gt=OuterRef("xid")) | Q(xid=OuterRef("xid"), outbox_id__gte=OuterRef("id")), pk=1
        )
    )


def outbox_unpublished_count() -> int:
    """Rows the relay has not passed yet (the fast path may have published them already)."""
    return OutboxEvent.objects.exclude(outbox_published()).count()


def outbox_prune(*, older_than: timedelta) -> int:
    """Deletes rows written longer ago than `older_than` that the relay has passed (published)
    and whose emails and Telegram messages, if any, were handed on (to the worker; to the bot's
    stream as deliveries that keep their own copy of the event). The created_at condition is what
    the BRIN index serves."""
    cutoff = timezone.now() - older_than
    deleted, _ = (
        OutboxEvent.objects.filter(outbox_published(), created_at__lt=cutoff)
        .exclude(needs_channels=True, channels_dispatched_at__isnull=True)
        .exclude(needs_telegram=True, telegram_dispatched_at__isnull=True)
        .delete()
    )
    return deleted


def relay_cycle(*, grace: timedelta, batch: int) -> int:
    """One relay pass (the outbox_relay command loops over it)."""
    close_old_connections()
    return outbox_publish_pending(older_than=grace, limit=batch)
