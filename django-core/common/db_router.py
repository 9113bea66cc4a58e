"""The optional read replica (DATABASE_REPLICA_URL): list endpoints that opt in read from it,
everything else uses the primary. docs/scaling.md "Read replica".

A view opts in with `@reads_from_replica` on its list handler. Inside it, reads go to the
replica unless:
- no replica is configured (then nothing here runs: no router, no Redis call);
- the user wrote within REPLICA_PIN_SECONDS (read your writes, common.read_your_writes);
- a transaction was opened on the primary inside the view (its own writes are only there).
Writes, migrations and everything outside opted-in views use the primary. Authentication and
permission checks run before the handler, so they read the primary too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from common.read_your_writes import user_pinned

REPLICA = "replica"

# Set by replica_reads for the handler's duration (per thread and per asyncio task): None, reads
# use the primary; else how many atomic blocks were open on the primary when it began (a caller's,
# e.g. ATOMIC_REQUESTS or a test: they wrote nothing this view must see).
_replica_reads: ContextVar[int | None] = ContextVar("replica_reads", default=None)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextlib.contextmanager
def replica_reads(user: Any) -> Iterator[bool]:
    """Within: reads may go to the replica (yields whether they do) — only with a replica and
    for a user who is not pinned to the primary."""
    allowed = replica_configured() and not (getattr(user, "is_authenticated", False) and user_pinned(user_id=user.pk))
    token = _replica_reads.set(len(connections[DEFAULT_DB_ALIAS].atomic_blocks) if allowed else None)
    try:
        yield allowed
    finally:
        _replica_reads.reset(token)


def reads_from_replica(handler: Handler) -> Handler:
    """For an APIView's list handler (`def get(self, request, ...)`): its reads come from the
    replica when replica_reads() allows it for the request's user."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        with replica_reads(request.user):
            return handler(view, request, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class ReplicaRouter:
    """DATABASE_ROUTERS entry when DATABASE_REPLICA_URL is set (config.settings)."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        depth = _replica_reads.get()
        if depth is not None and len(connections[DEFAULT_DB_ALIAS].atomic_blocks) <= depth:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        # The same data on both: an object read from the replica may point at one from the primary.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
