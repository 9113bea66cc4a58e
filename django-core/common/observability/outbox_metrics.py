"""The outbox's metrics (docs/operations.md "Outbox").

Counted where the work happens: the fast path in django-core's workers (after commit), the
relay's pass in the outbox relay. The backlog (rows the relay's watermark has not passed, and
the age of the oldest) is read from the database when the outbox relay's /metrics is scraped:
one index range scan after the watermark (outbox_xid_id), never a per-row cost.
"""

import time
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PUBLISH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

FAST_PATH_PUBLISHED = Counter(
    "taskflow_outbox_fast_path_published_total", "Events published right after their commit (fast path)."
)
FAST_PATH_FAILURES = Counter(
    "taskflow_outbox_fast_path_failures_total", "Fast-path publishes that failed (the relay delivers them)."
)
REPUBLISHED = Counter(
    "taskflow_outbox_republished_total", "Events the outbox relay published because the fast path had not."
)
PUBLISH_LATENCY = Histogram(
    "taskflow_outbox_publish_latency_seconds",
    "From the event's write to its delivery to every recipient, by path (fast_path, relay).",
    ["path"],
    buckets=PUBLISH_BUCKETS,
)


def fast_path_published(emitted_at: float | None) -> None:
    FAST_PATH_PUBLISHED.inc()
    if emitted_at is not None:
        PUBLISH_LATENCY.labels("fast_path").observe(max(time.time() - emitted_at, 0.0))


def relay_published(rows: Sequence[Sequence[Any]], outcomes: Sequence[object]) -> None:
    """`rows`: (id, event_id, ..., created_at at index 6, ...) as the relay read them."""
    now = time.time()
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is True:
            REPUBLISHED.inc()
            PUBLISH_LATENCY.labels("relay").observe(max(now - row[6].timestamp(), 0.0))


_BACKLOG_SQL = """
SELECT count(*), GREATEST(EXTRACT(EPOCH FROM clock_timestamp() - min(e.created_at)), 0)
FROM notifications_outboxevent e
LEFT JOIN notifications_outboxwatermark w ON w.id = 1
WHERE w.id IS NULL OR (e.xid, e.id) > (w.xid, w.outbox_id)
"""


class OutboxBacklog(Collector):
    """taskflow_outbox_pending_rows and taskflow_outbox_oldest_pending_age_seconds, read at scrape."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with connection.cursor() as cursor:
            cursor.execute(_BACKLOG_SQL)
            count, oldest = cursor.fetchone()
        if not connection.in_atomic_block:
            connection.close()  # the scrape's thread keeps no connection between scrapes
        yield GaugeMetricFamily(
            "taskflow_outbox_pending_rows",
            "Outbox rows the relay's watermark has not passed (published rows wait OUTBOX_SETTLE there).",
            value=count,
        )
        yield GaugeMetricFamily(
            "taskflow_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row the relay's watermark has not passed (0 when none).",
            value=float(oldest or 0.0),
        )
