import logging
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections
from redis.exceptions import RedisError

from notifications.publisher import outbox_prune, relay_cycle

logger = logging.getLogger("notifications.relay")


def _dispatch_channels(batch: int) -> int:
    """Hands events with email recipients to the Celery worker (mailing.dispatch)."""
    from mailing.dispatch import dispatch_pending

    return dispatch_pending(limit=batch)


class Command(BaseCommand):
    help = (
        "Publishes committed events the fast path did not (crash between commit and publish, Redis "
        "down), in commit order, and prunes published rows past the retention. Runs until stopped."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit (for scripts and tests).")
        parser.add_argument("--interval", type=float, default=settings.OUTBOX_RELAY_INTERVAL)
        parser.add_argument(
            "--grace", type=float, default=settings.OUTBOX_RELAY_GRACE, help="Seconds left to the fast path."
        )
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument(
            "--no-dispatch",
            action="store_true",
            help="Publish only: leave handing events to the mail worker to another relay (or beat's safety net).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = timedelta(seconds=options["grace"])
        if options["once"]:
            published = relay_cycle(grace=grace, batch=options["batch"])
            pruned = outbox_prune(older_than=settings.OUTBOX_RETENTION)
            try:
                dispatched = 0 if options["no_dispatch"] else _dispatch_channels(options["batch"])
            except Exception as exc:  # the broker's errors have no common base; the rows stay
                logger.warning("could not hand events to the mail worker: %s", exc)
                dispatched = 0
            self.stdout.write(
                f"published {published} event(s), pruned {pruned} published row(s), "
                f"dispatched {dispatched} event(s) to the worker"
            )
            return
        # Set by SIGTERM/SIGINT; also what the loop sleeps on, so a stop cuts a (backoff) sleep
        # short instead of waiting up to 30 s for it.
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
        # The broker may be down while Redis-for-realtime is not (or the other way round): the
        # dispatch backs off on its own and never holds up publishing.
        dispatch_backoff = options["interval"]
        next_dispatch = 0.0
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
                if not options["no_dispatch"] and time.monotonic() >= next_dispatch:
                    try:
                        _dispatch_channels(options["batch"])
                        dispatch_backoff = options["interval"]
                    except DatabaseError:
                        raise
                    except Exception as exc:  # the broker's errors have no common base
                        dispatch_backoff = min(dispatch_backoff * 2, 30.0)
                        next_dispatch = time.monotonic() + dispatch_backoff
                        logger.warning("mail dispatch failed (%s); retrying in %.1fs", exc, dispatch_backoff)
                backoff = options["interval"]
                if published >= options["batch"]:
                    continue  # more waiting: no sleep
            except RedisError as exc:
                backoff = min(backoff * 2, 30.0)
                logger.warning("Redis unavailable (%s); retrying in %.1fs", exc, backoff)
            except DatabaseError as exc:
                backoff = min(backoff * 2, 30.0)
                logger.warning("database unavailable (%s); retrying in %.1fs", exc, backoff)
                close_old_connections()
            stopping.wait(backoff)
        logger.info("outbox relay stopped")
