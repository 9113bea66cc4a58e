"""Counters of one relay process, rendered in the Prometheus text format at /ws/metrics.

Plain integers on the event loop's thread: no locks, no client library, nothing on the hot
path but an increment.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

# Reasons always exported (at 0 until they happen), so dashboards and alerts find the series.
DROP_REASONS = ("slow_consumer", "revoked", "redis_unavailable")
AUTH_FAILURE_REASONS = (
    "origin",
    "missing_ticket",
    "invalid_ticket",
    "expired_ticket",
    "wrong_audience",
    "wrong_token_type",
    "reused_ticket",
)


def _by_reason(counts: Counter[str], known: tuple[str, ...]) -> list[tuple[str, int]]:
    return [(f'{{reason="{reason}"}}', counts[reason]) for reason in sorted({*known, *counts})]


@dataclass
class Metrics:
    connections_opened: int = 0
    messages_sent: int = 0
    # Sockets dropped by the relay, by reason (slow_consumer, revoked, ...).
    drops: Counter[str] = field(default_factory=Counter)
    auth_failures: Counter[str] = field(default_factory=Counter)
    replay_hits: int = 0
    replay_misses: int = 0
    replayed_events: int = 0
    client_errors: int = 0
    redis_reconnects: int = 0
    deadline_alerts: int = 0

    def render(self, *, connections: int, users: int, redis_up: bool) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: Sequence[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {value}" for labels, value in samples)

        metric("realtime_connections", "gauge", "Open WebSocket connections.", [("", connections)])
        metric("realtime_users", "gauge", "Users with at least one open socket here.", [("", users)])
        metric("realtime_redis_up", "gauge", "1 while the Redis subscription is live.", [("", int(redis_up))])
        metric(
            "realtime_connections_opened_total", "counter", "Authenticated sockets.", [("", self.connections_opened)]
        )
        metric("realtime_messages_sent_total", "counter", "Frames written to sockets.", [("", self.messages_sent)])
        metric(
            "realtime_drops_total",
            "counter",
            "Sockets closed by the relay, by reason.",
            _by_reason(self.drops, DROP_REASONS),
        )
        metric(
            "realtime_auth_failures_total",
            "counter",
            "Refused tickets and origins, by reason.",
            _by_reason(self.auth_failures, AUTH_FAILURE_REASONS),
        )
        metric("realtime_replay_hits_total", "counter", "Catch-ups served from history.", [("", self.replay_hits)])
        metric("realtime_replay_misses_total", "counter", "Catch-ups answered with resync.", [("", self.replay_misses)])
        metric(
            "realtime_replayed_events_total", "counter", "Frames replayed from history.", [("", self.replayed_events)]
        )
        metric("realtime_client_errors_total", "counter", "Malformed client frames.", [("", self.client_errors)])
        metric("realtime_redis_reconnects_total", "counter", "Pub/sub reconnections.", [("", self.redis_reconnects)])
        metric(
            "realtime_deadline_alerts_total",
            "counter",
            "Alerts accepted by /notify/deadline.",
            [("", self.deadline_alerts)],
        )
        return "\n".join(lines) + "\n"
