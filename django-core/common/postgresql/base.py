"""django.db.backends.postgresql plus statements deferred to the end of their transaction.

`connection.defer_to_commit(sql, params)` queues a statement instead of running it. The queue
is sent in one round trip with the COMMIT (psycopg's pipeline mode), or, inside a savepoint,
right before the savepoint is released; a rollback (to the savepoint) drops what it queued.
Savepoints here are those of transaction.atomic(); transaction.savepoint() is not tracked. The
outbox uses it (notifications.events): its statement takes the lock that orders commits, and
sent with the COMMIT that lock is held only while PostgreSQL runs the two, never while this
process waits for the reply or for the GIL between them.
"""

from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction


@dataclass(eq=False)
class DeferredStatement:
    """A queued statement; `rows` holds what it returned once it ran (before the on_commit hooks
    of its transaction run)."""

    sql: str
    params: dict[str, Any]
    depth: int  # savepoints open when it was queued
    rows: list[tuple[Any, ...]] | None = field(default=None)


class DatabaseWrapper(base.DatabaseWrapper):
    # Overrides Django's private transaction hooks (_commit, _rollback, _savepoint_*, _close),
    # which django-stubs does not declare.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred_statements: list[DeferredStatement] = []

    def defer_to_commit(self, sql: str, params: dict[str, Any]) -> DeferredStatement:
        """Queues a statement to run at the end of the current atomic block (see the module).
        Precondition: inside transaction.atomic()."""
        if not self.in_atomic_block:
            raise RuntimeError("defer_to_commit needs a transaction (transaction.atomic())")
        statement = DeferredStatement(sql=sql, params=params, depth=self._savepoint_depth())
        self.deferred_statements.append(statement)
        return statement

    def _savepoint_depth(self) -> int:
        # atomic(savepoint=False) blocks push None: they are not savepoints of their own.
        return sum(1 for sid in self.savepoint_ids if sid is not None)

    def _send(self, statements: list[DeferredStatement]) -> list[psycopg.Cursor[Any]]:
        # Server-side binding, prepared once per connection (settings: prepare_threshold). In
        # pipeline mode this only queues them; their rows are read by _collect.
        cursors = []
        for statement in statements:
            cursor = psycopg.Cursor(self.connection)
            cursor.execute(statement.sql, statement.params, prepare=True)
            cursors.append(cursor)
        return cursors

    @staticmethod
    def _collect(statements: list[DeferredStatement], cursors: list[psycopg.Cursor[Any]]) -> None:
        for statement, cursor in zip(statements, cursors, strict=True):
            statement.rows = cursor.fetchall()
            cursor.close()

    def _run_deferred(self, statements: list[DeferredStatement]) -> None:
        self._collect(statements, self._send(statements))

    def _commit(self) -> None:
        statements, self.deferred_statements = self.deferred_statements, []
        if not statements or self.connection is None:
            return super()._commit()  # type: ignore[misc]  # private in django-stubs
        if self.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            # Nothing else ran in this transaction yet (its BEGIN would be queued in the
            # pipeline, which psycopg's commit() does not see): plain round trips.
            with self.wrap_database_errors:
                self._run_deferred(statements)
            return super()._commit()  # type: ignore[misc]  # private in django-stubs
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
            with self.connection.pipeline():
                cursors = self._send(statements)
                # COMMIT goes out behind them and the pipeline syncs: one round trip. An error in
                # a statement aborts the transaction and is raised here; atomic() rolls back.
                self.connection.commit()
            self._collect(statements, cursors)

    def _rollback(self) -> None:
        self.deferred_statements = []
        super()._rollback()  # type: ignore[misc]  # private in django-stubs

    def _savepoint_commit(self, sid: str) -> None:
        # The savepoint's own statements (and any still queued below it) run before it is
        # released: they belong to the enclosing transaction from here on.
        statements, self.deferred_statements = self.deferred_statements, []
        if statements:
            with self.wrap_database_errors:
                self._run_deferred(statements)
        super()._savepoint_commit(sid)  # type: ignore[misc]  # private in django-stubs

    def _savepoint_rollback(self, sid: str) -> None:
        # Drops what was queued inside the savepoint being rolled back (atomic() has already
        # popped its id, so those were queued deeper than the savepoints still open).
        depth = self._savepoint_depth()
        self.deferred_statements = [s for s in self.deferred_statements if s.depth <= depth]
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in django-stubs

    def _close(self) -> None:
        self.deferred_statements = []
        super()._close()  # type: ignore[misc]  # private in django-stubs
