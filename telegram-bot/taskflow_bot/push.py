"""The push consumer: Redis stream `telegram:deliveries` (consumer group `bot`) → Telegram.

Each stream entry names a delivery (`d`) and its chat (`c`). The loop:

1. takes over entries another consumer read but never acknowledged (XAUTOCLAIM, idle longer
   than TELEGRAM_CLAIM_IDLE: that bot crashed), then reads new ones (XREADGROUP `>`);
2. claims the batch from django-core, which answers each delivery rendered (`ready`) or `skip`;
3. queues the ready ones per chat, in stream order. Each chat has its own sender task, so one
   slow chat (per-chat spacing, a 429, retries) never stalls the others; at most
   SEND_CONCURRENCY sends are in flight at once, all paced by `Pacer`;
4. reports each outcome to django-core and only then XACKs. A skip is acknowledged at once,
   except `in_progress` (another consumer's claim): that entry stays pending until the claim
   is settled or lapses.

At least once: anything not acknowledged (crash, shutdown mid-queue) is taken over by a live
consumer and claimed again; django-core's delivery row makes the duplicate a `skip`.

A 429 waits `retry_after` and sends the same message again (not an attempt); 403 is `blocked`;
other errors are `failed`, retried with exponential backoff while django-core answers
`retry: true`. django-core or Redis being down is a back-off and a log line, never an exit.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import LinkPreviewOptions
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from taskflow_contracts.logs import log_context, valid_request_id

from taskflow_bot import metrics
from taskflow_bot.config import Settings
from taskflow_bot.core_api import CoreApi, CoreApiError, CoreUnavailable
from taskflow_bot.formatting import push_keyboard
from taskflow_bot.health import LoopHealth
from taskflow_bot.pacing import Pacer

logger = logging.getLogger(__name__)

GROUP = "bot"
READ_COUNT = 100
READ_BLOCK_MS = 1000
SEND_CONCURRENCY = 32
# Entries read but not yet acknowledged, at most; reading pauses above it (memory, and the
# claims django-core holds for us).
MAX_HELD = 2000
LOOP_BACKOFF_INITIAL = 0.5
LOOP_BACKOFF_MAX = 15.0
RETRY_BACKOFF_MAX = 300.0
ERROR_TEXT_LIMIT = 500


class Stopping(Exception):
    """Raised out of a wait when the consumer is shutting down."""


@dataclass
class PushJob:
    """One ready delivery and the stream entries (usually one) that asked for it."""

    delivery_id: int
    chat_id: int
    text: str
    buttons: list[list[dict[str, Any]]]
    entry_ids: list[str]
    attempts: int = 0
    # The request that caused the event (the stream entry's `r`), for the log lines only.
    request_id: str | None = None


@dataclass
class _Outcome:
    outcome: str
    message_id: int | None = None
    error: str | None = None


class PushConsumer:
    def __init__(self, *, bot: Bot, core: CoreApi, redis: Redis, settings: Settings, health: LoopHealth) -> None:
        self._bot = bot
        self._core = core
        self._redis = redis
        self._stream = settings.telegram_stream
        self._consumer = settings.telegram_consumer_name
        self._claim_idle = settings.telegram_claim_idle
        self._max_attempts = settings.telegram_max_attempts
        self._retry_backoff = settings.telegram_retry_backoff
        self._health = health
        self._pacer = Pacer(global_rate=settings.telegram_rate_global, per_chat_interval=settings.per_chat_interval)
        self._send_slots = asyncio.Semaphore(SEND_CONCURRENCY)
        self._stopping = asyncio.Event()
        self._queues: dict[int, deque[PushJob]] = {}
        self._senders: dict[int, asyncio.Task[None]] = {}
        # Entry id → when this consumer last (re)claimed it in Redis.
        self._held: dict[str, float] = {}
        self._unclaimed: list[tuple[str, dict[str, str]]] = []
        self._autoclaim_cursor = "0-0"
        self._next_autoclaim = 0.0
        self._next_refresh = 0.0

    # --- The read loop ------------------------------------------------------------------------

    async def run(self) -> None:
        self._health.started()
        backoff = LOOP_BACKOFF_INITIAL
        group_ready = False
        try:
            while not self._stopping.is_set():
                try:
                    if not group_ready:
                        await self._ensure_group()
                        group_ready = True
                    await self._step()
                    self._health.ok()
                    backoff = LOOP_BACKOFF_INITIAL
                except Stopping:
                    break
                except redis_errors.ResponseError as error:
                    if "NOGROUP" in str(error):
                        # Redis lost the stream (restart without persistence): recreate it; the
                        # relay re-enqueues the deliveries still pending.
                        logger.warning("Consumer group %s on %s is gone; recreating it", GROUP, self._stream)
                        group_ready = False
                        continue
                    backoff = await self._failed(f"Redis: {error}", backoff)
                except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
                    backoff = await self._failed(f"Redis unavailable: {type(error).__name__}", backoff)
                except CoreUnavailable as error:
                    backoff = await self._failed(f"django-core unavailable: {error}", backoff)
                except CoreApiError as error:
                    backoff = await self._failed(f"django-core refused the claim: {error}", backoff)
                except Exception as error:
                    logger.exception("Push loop error")
                    backoff = await self._failed(f"{type(error).__name__}: {error}", backoff)
        finally:
            self._health.stopped()

    async def _failed(self, reason: str, backoff: float) -> float:
        if self._health.failing_since is None:
            logger.warning("Push loop: %s; retrying with backoff", reason)
        else:
            logger.debug("Push loop still failing: %s", reason)
        self._health.failing(reason)
        with contextlib.suppress(Stopping):
            await self._sleep(backoff)
        return min(backoff * 2, LOOP_BACKOFF_MAX)

    async def _ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            logger.info("Created consumer group %s on %s", GROUP, self._stream)
        except redis_errors.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _step(self) -> None:
        if self._unclaimed:
            # A claim that failed (django-core down): the entries are ours in Redis already.
            entries, self._unclaimed = self._unclaimed, []
            await self._dispatch(entries)
            return
        await self._refresh_held()
        if len(self._held) >= MAX_HELD:
            await self._sleep(0.2)
            return
        entries = await self._autoclaim()
        if not entries:
            entries = await self._read()
        if entries:
            await self._dispatch(entries)

    async def _autoclaim(self) -> list[tuple[str, dict[str, str]]]:
        now = time.monotonic()
        if now < self._next_autoclaim:
            return []
        idle_ms = int(self._claim_idle * 1000)
        answer = await self._redis.xautoclaim(
            self._stream, GROUP, self._consumer, idle_ms, start_id=self._autoclaim_cursor, count=READ_COUNT
        )
        self._autoclaim_cursor = str(answer[0])
        # Keep scanning while the cursor says there is more; otherwise look again in a while.
        scan_done = self._autoclaim_cursor in {"0-0", "0"}
        self._next_autoclaim = now + (min(self._claim_idle / 2, 5.0) if scan_done else 0.0)
        entries = [(entry_id, fields or {}) for entry_id, fields in answer[1] if entry_id not in self._held]
        if entries:
            logger.info("Took over %d unacknowledged entries idle for over %.0fs", len(entries), self._claim_idle)
        return entries

    async def _read(self) -> list[tuple[str, dict[str, str]]]:
        # [[stream, [(entry id, fields), ...]]] (redis-py types the answer loosely)
        answer: Any = await self._redis.xreadgroup(
            GROUP, self._consumer, {self._stream: ">"}, count=READ_COUNT, block=READ_BLOCK_MS
        )
        return [(entry_id, fields or {}) for _stream, entries in answer or [] for entry_id, fields in entries]

    async def _refresh_held(self) -> None:
        """Resets the idle time of entries still queued here, so no other consumer takes over a
        chat's backlog while its per-chat pacing works through it."""
        now = time.monotonic()
        if now < self._next_refresh:
            return
        self._next_refresh = now + self._claim_idle / 3
        stale: list[Any] = [entry_id for entry_id, since in self._held.items() if now - since > self._claim_idle / 3]
        if stale:
            await self._redis.xclaim(self._stream, GROUP, self._consumer, 0, stale, justid=True)
            for entry_id in stale:
                self._held[entry_id] = now

    async def _dispatch(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        by_delivery: dict[int, list[str]] = {}
        request_ids: dict[int, str] = {}
        malformed: list[str] = []
        now = time.monotonic()
        for entry_id, fields in entries:
            try:
                delivery_id = int(fields["d"])
            except (KeyError, ValueError):
                malformed.append(entry_id)
                continue
            by_delivery.setdefault(delivery_id, []).append(entry_id)
            if valid_request_id(fields.get("r")):
                request_ids[delivery_id] = fields["r"]
            self._held[entry_id] = now
        if malformed:
            logger.warning("Acknowledging %d stream entries without a delivery id: %s", len(malformed), malformed[:5])
            await self._redis.xack(self._stream, GROUP, *malformed)
        if not by_delivery:
            return
        try:
            answers = await self._core.claim(list(by_delivery))
        except (CoreUnavailable, CoreApiError):
            self._unclaimed = [(entry_id, fields) for entry_id, fields in entries if entry_id not in malformed]
            raise
        stats: Counter[str] = Counter()
        skipped: list[str] = []
        for answer in answers:
            try:
                delivery_id = int(answer["id"])
                entry_ids = by_delivery[delivery_id]
                if answer.get("status") == "ready":
                    job = PushJob(
                        delivery_id=delivery_id,
                        chat_id=int(answer["chat_id"]),
                        text=str(answer["text"]),
                        buttons=list(answer.get("buttons") or []),
                        entry_ids=entry_ids,
                        request_id=request_ids.get(delivery_id),
                    )
                elif answer.get("reason") == "in_progress":
                    # Another consumer holds the claim (a duplicate entry, or a consumer that died
                    # mid-send): left pending, taken over again once the claim lapses, when the
                    # claim answers `done` (acknowledged) or `ready` (it died: sent from here).
                    del by_delivery[delivery_id]
                    for entry_id in entry_ids:
                        self._held.pop(entry_id, None)
                    stats["held elsewhere"] += 1
                    continue
                else:
                    del by_delivery[delivery_id]
                    skipped += entry_ids
                    stats[f"skip {answer.get('reason', '?')}"] += 1
                    continue
            except (KeyError, TypeError, ValueError):
                logger.error("Unusable claim answer: %r", answer)
                continue
            del by_delivery[delivery_id]
            self._enqueue(job)
            stats["ready"] += 1
        if skipped:
            await self._ack(skipped)
        if by_delivery:
            # Not answered: leave them pending; they are taken over again after the idle time.
            logger.warning("The claim did not answer deliveries %s", sorted(by_delivery)[:10])
            for entry_ids in by_delivery.values():
                for entry_id in entry_ids:
                    self._held.pop(entry_id, None)
        summary = ", ".join(f"{name} {count}" for name, count in sorted(stats.items()))
        logger.info("Push batch of %d entries: %s", len(entries), summary or "nothing to claim")

    # --- Per-chat senders ---------------------------------------------------------------------

    def _enqueue(self, job: PushJob) -> None:
        self._queues.setdefault(job.chat_id, deque()).append(job)
        if job.chat_id not in self._senders:
            self._senders[job.chat_id] = asyncio.create_task(self._send_chat(job.chat_id))

    async def _send_chat(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue and not self._stopping.is_set():
                await self._deliver(queue[0])
                queue.popleft()
        except Stopping:
            pass
        except Exception:
            # A bug must not kill the consumer: leave the entries pending, they are taken over.
            logger.exception("Sending to chat %s failed", chat_id)
        finally:
            # Whatever is left stays pending in Redis (taken over after the idle time). No await
            # between the last queue check and here, so _enqueue never sees a sender that is
            # about to end.
            for job in queue:
                for entry_id in job.entry_ids:
                    self._held.pop(entry_id, None)
            del self._senders[chat_id]
            del self._queues[chat_id]

    async def _deliver(self, job: PushJob) -> None:
        with log_context(request_id=job.request_id):
            await self._deliver_traced(job)

    async def _deliver_traced(self, job: PushJob) -> None:
        while True:
            await self._pacer.acquire(job.chat_id, self._sleep)
            async with self._send_slots:
                outcome = await self._send(job)
            if outcome is None:
                continue  # 429: the pacer holds the chat back; the same message goes again
            answer = await self._report(job, outcome)
            if outcome.outcome == "failed" and answer.get("retry"):
                job.attempts += 1
                if job.attempts < self._max_attempts:
                    delay = min(self._retry_backoff * 2 ** (job.attempts - 1), RETRY_BACKOFF_MAX)
                    logger.info(
                        "Delivery %s failed (%s); retry %d in %.1fs",
                        job.delivery_id,
                        outcome.error,
                        job.attempts,
                        delay,
                    )
                    await self._sleep(delay)
                    continue
                logger.warning(
                    "Delivery %s failed %d times here; leaving it to django-core", job.delivery_id, job.attempts
                )
            await self._ack(job.entry_ids)
            return

    async def _send(self, job: PushJob) -> _Outcome | None:
        """One sendMessage; None after a 429 (to be sent again once the wait is over)."""
        try:
            message = await self._bot.send_message(
                chat_id=job.chat_id,
                text=job.text,
                parse_mode="HTML",
                reply_markup=push_keyboard(job.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramRetryAfter as error:
            # Telegram's flood control: hold this chat, and everything else too (a 429 may be a
            # global limit; pausing a few seconds costs less than a longer ban).
            logger.warning("Telegram asked to wait %ss (chat %s)", error.retry_after, job.chat_id)
            metrics.RETRY_AFTER.inc()
            self._pacer.hold(float(error.retry_after), job.chat_id)
            self._pacer.hold(float(error.retry_after))
            return None
        except TelegramForbiddenError as error:
            logger.info("Chat %s blocked the bot (%s)", job.chat_id, error.message)
            metrics.BLOCKED_UNLINKS.inc()
            return _Outcome("blocked")
        except TelegramAPIError as error:
            metrics.SEND_FAILURES.inc()
            return _Outcome("failed", error=f"{type(error).__name__}: {error.message}"[:ERROR_TEXT_LIMIT])
        metrics.MESSAGES_SENT.inc()
        logger.info("Delivery %s sent to chat %s as message %s", job.delivery_id, job.chat_id, message.message_id)
        return _Outcome("sent", message_id=message.message_id)

    async def _report(self, job: PushJob, outcome: _Outcome) -> dict[str, Any]:
        """Reports until django-core has it: acknowledging before that could lose the fact that
        the message was sent (and a `sent` reported twice is harmless)."""
        backoff = LOOP_BACKOFF_INITIAL
        while True:
            try:
                return await self._core.report_result(
                    job.delivery_id, outcome.outcome, message_id=outcome.message_id, error=outcome.error
                )
            except CoreUnavailable as error:
                logger.warning("Reporting delivery %s: %s; retrying in %.1fs", job.delivery_id, error, backoff)
                self._health.failing(f"django-core unavailable: {error}")
                await self._sleep(backoff)
                backoff = min(backoff * 2, LOOP_BACKOFF_MAX)
            except CoreApiError as error:
                # django-core does not know this delivery (any more): nothing left to do with it.
                logger.warning("django-core refused the result of delivery %s: %s", job.delivery_id, error)
                return {}

    async def _ack(self, entry_ids: list[str]) -> None:
        backoff = LOOP_BACKOFF_INITIAL
        while True:
            try:
                await self._redis.xack(self._stream, GROUP, *entry_ids)
                break
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as error:
                logger.warning("XACK failed (%s); retrying in %.1fs", type(error).__name__, backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, LOOP_BACKOFF_MAX)
        for entry_id in entry_ids:
            self._held.pop(entry_id, None)

    # --- Shutdown -----------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        """asyncio.sleep that raises Stopping as soon as shutdown begins."""
        if self._stopping.is_set():
            raise Stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        if self._stopping.is_set():
            raise Stopping

    async def stop(self, timeout: float = 10.0) -> None:
        """Stops reading and waiting; sends already on the wire finish, get reported and
        acknowledged. What is still queued stays pending in Redis for the next consumer."""
        self._stopping.set()
        senders = list(self._senders.values())
        if not senders:
            return
        _done, pending = await asyncio.wait(senders, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("Stopped %d senders that did not finish within %.0fs", len(pending), timeout)
