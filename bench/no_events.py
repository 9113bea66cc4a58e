"""Turns domain events off in a bench server, to price them: bench.events compares POST /api/tasks
with and without them.

`notifications.events.events_emit` (which `event_emit` calls, and which a write emitting several
events calls at once) is replaced by a no-op returning None for each event (what it returns for an
event nobody is to receive). The services look the function up on the module at each call, so
patching the attribute is enough. It happens in `ready()`, the first moment the module can be
imported (it imports models), and before any request is served. Everything around the call still
runs: the services still build the event data and query the audience, so the difference measured
is event_emit's own work (preferences, Notification rows, the board number and the outbox row,
the fast-path publish to Redis after commit).
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig


def events_emit_disabled(emits: Sequence[Any]) -> list[None]:
    return [None] * len(emits)


class NoEventsConfig(AppConfig):
    name = "bench"
    label = "bench_no_events"
    verbose_name = "Benchmark: domain events off"

    def ready(self) -> None:
        from notifications import events

        events.events_emit = events_emit_disabled  # type: ignore[assignment]
