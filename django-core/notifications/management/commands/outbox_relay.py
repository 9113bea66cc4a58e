import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from common.observability.metrics import register_scrape_collector, serve
from common.observability.outbox_metrics import OutboxBacklog
from common.selectors import dependency_checks
from notifications.publisher import outbox_prune, relay_cycle

logger = logging.getLogger("notifications.relay")


@dataclass
class _Dispatcher:
    """One OUTBOX_CHANNEL_DISPATCHERS entry (mail to the worker, Telegram to the bot's stream),
    with a backoff of its own: one channel's broker being down never holds up another, nor the
    publishing."""

    name: str
    call: Callable[..., int]
    backoff: float
    next_at: float = 0.0


def _dispatchers(interval: float) -> list[_Dispatcher]:
    return [_Dispatcher(path, import_string(path), interval) for path in settings.OUTBOX_CHANNEL_DISPATCHERS]


class Command(BaseCommand):
    help = (
        "Publishes committed events the fast path did not (crash between commit and publish, Redis "
        "down), in board order, hands events on to the mail worker and the bot, and prunes published "
        "rows past the retention. Runs until stopped; a second relay waits as a standby while one walks."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit (for scripts and tests).")
        parser.add_argument("--interval", type=float, default=settings.OUTBOX_RELAY_INTERVAL)
        parser.add_argument(
            "--grace", type=float, default=settings.OUTBOX_RELAY_GRACE, help="Seconds left to the fast path."
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=2000,
            help="Rows a pass looks at (those of the last OUTBOX_SETTLE seconds stay after the watermark).",
        )
        parser.add_argument(
            "--no-dispatch",
            action="store_true",
            help="Publish only: leave handing events to the mail worker and the bot to another relay.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(seconds=options["grace"])
        dispatchers = [] if options["no_dispatch"] else _dispatchers(options["interval"])
        if options["once"]:
            published = relay_cycle(grace=grace, batch=options["batch"])
            dispatched = 0
            for dispatcher in dispatchers:
                try:
                    dispatched += dispatcher.call(limit=options["batch"])
                except Exception as exc:  # the brokers' errors have no common base; the rows stay
                    logger.warning("could not hand events on (%s): %s", dispatcher.name, exc)
            pruned = outbox_prune(older_than=settings.OUTBOX_RETENTION)
            self.stdout.write(
                f"published {published} event(s), pruned {pruned} published row(s), "
                f"dispatched {dispatched} event(s) to their channels"
            )
            return
        # Metrics (with the backlog read at scrape time) and /live, /ready (docs/operations.md).
        register_scrape_collector(OutboxBacklog())
        serve(host=settings.METRICS_HOST, port=settings.OUTBOX_METRICS_PORT, ready=dependency_checks)
        # Set by SIGTERM/SIGINT; also what the loop sleeps on, so a stop cuts a (backoff) sleep
        # short instead of waiting it out.
        stopping = threading.Event()

        def stop(signum: int, frame: object) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        logger.info(
            "outbox relay started: every %.1fs, grace %.1fs, retention %s",
            options["interval"],
            options["grace"],
            settings.OUTBOX_RETENTION,
        )
        backoff = options["interval"]
        next_prune = 0.0
        while not stopping.is_set():
            try:
                published = relay_cycle(grace=grace, batch=options["batch"])
                if published:
                    logger.info("relayed %d event(s) the fast path had not published", published)
                if time.monotonic() >= next_prune:
                    pruned = outbox_prune(older_than=settings.OUTBOX_RETENTION)
                    if pruned:
                        logger.info("pruned %d published outbox row(s)", pruned)
                    next_prune = time.monotonic() + 600
                for dispatcher in dispatchers:
                    if time.monotonic() < dispatcher.next_at:
                        continue
                    try:
                        dispatcher.call(limit=options["batch"])
                        dispatcher.backoff = options["interval"]
                    except DatabaseError:
                        raise
                    except Exception as exc:  # the brokers' errors have no common base
                        dispatcher.backoff = min(dispatcher.backoff * 2, 30.0)
                        dispatcher.next_at = time.monotonic() + dispatcher.backoff
                        logger.warning("%s failed (%s); retrying in %.1fs", dispatcher.name, exc, dispatcher.backoff)
                backoff = options["interval"]
                if published >= options["batch"]:
                    continue  # more waiting: no sleep
            except RedisError as exc:
                backoff = next_backoff(backoff)
                logger.warning("Redis unavailable (%s); retrying in %.1fs", exc, backoff)
            except DatabaseError as exc:
                backoff = next_backoff(backoff)
                logger.warning("database unavailable (%s); retrying in %.1fs", exc, backoff)
                close_old_connections()
            stopping.wait(backoff)
        logger.info("outbox relay stopped")


def next_backoff(current: float) -> float:
    """The relay's next wait while Redis or the database is down: doubled, at most
    OUTBOX_RELAY_RETRY_MAX (how long a live board can stand still after an outage)."""
    return float(min(current * 2, settings.OUTBOX_RELAY_RETRY_MAX))
