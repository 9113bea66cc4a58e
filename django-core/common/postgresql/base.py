"""django.db.backends.postgresql plus statements deferred to the end of their transaction.

`connection.defer_to_commit(sql, params)` queues a statement instead of running it. The queue
is sent in one message with the COMMIT, or, inside a savepoint, right before the savepoint is
released; a rollback (to the savepoint) drops what it queued. Savepoints here are those of
transaction.atomic(); transaction.savepoint() is not tracked. The outbox uses it
(notifications.events): its statement takes the lock that orders commits, and sent with the
COMMIT that lock is held only while PostgreSQL runs the two, never while this process waits for
the reply or for the GIL between them.

How it is sent. Each deferred SQL text is prepared once per connection (SQL `PREPARE`, its own
round trip the first time; settings: `prepare_threshold`, off behind a transaction-pooling
PgBouncer, then the statement is sent in full each time). At the commit, its `EXECUTE` with the
parameters bound as literals quoted by libpq, and the `COMMIT`, go out as one simple-query message:
one round trip, no pipeline bookkeeping on this side, one plan on the server. A statement that
fails makes PostgreSQL skip the rest of the message, the COMMIT included; the error is raised
and atomic() rolls back.
"""

import hashlib
import re
import weakref
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(eq=False)
class DeferredStatement:
    """A queued statement; `rows` holds what it returned once it ran (before the on_commit hooks
    of its transaction run)."""

    sql: str
    params: dict[str, Any]
    depth: int  # savepoints open when it was queued
    rows: list[tuple[Any, ...]] | None = field(default=None)


@dataclass(frozen=True)
class _Prepared:
    """A deferred SQL text as a server-side prepared statement: its name, its `PREPARE` command
    and the order of its parameters (`%(name)s` placeholders become `$1`, `$2`, ...)."""

    name: str
    prepare: str
    order: tuple[str, ...]


@cache
def _prepared(sql: str) -> _Prepared:
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "%"
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    body = _PLACEHOLDER.sub(number, sql)
    name = "taskflow_deferred_" + hashlib.sha256(sql.encode()).hexdigest()[:16]
    return _Prepared(name=name, prepare=f"PREPARE {name} AS {body}", order=tuple(order))


def _literal(escaping: psycopg.pq.abc.Escaping, value: Any) -> str:
    """A parameter as an SQL literal, quoted by libpq (PQescapeLiteral) and typed by the
    statement (a quoted literal takes the type of the parameter or cast it stands for). Takes
    what has one text form: None, bool, int, str, enums (by value) and values whose str() is
    PostgreSQL's input form (UUID, datetime, Decimal); a list or a dict must be passed as text
    (JSON, say) and cast."""
    if isinstance(value, Enum):  # its value, whatever its str() says
        value = value.value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return escaping.escape_literal(str(value).encode()).decode()


# The statements prepared on each (pooled) psycopg connection. PREPARE is not transactional: a
# statement prepared in a transaction that rolled back stays prepared.
_prepared_on: "weakref.WeakKeyDictionary[psycopg.Connection[Any], set[str]]" = weakref.WeakKeyDictionary()


class DatabaseWrapper(base.DatabaseWrapper):
    # Overrides Django's private transaction hooks (_commit, _rollback, _savepoint_*, _close),
    # which django-stubs does not declare.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred_statements: list[DeferredStatement] = []

    def defer_to_commit(self, sql: str, params: dict[str, Any]) -> DeferredStatement:
        """Queues a statement to run at the end of the current atomic block (see the module).
        `sql` takes `%(name)s` placeholders; PostgreSQL must be able to infer each one's type
        (cast it where it cannot). Precondition: inside transaction.atomic()."""
        if not self.in_atomic_block:
            raise RuntimeError("defer_to_commit needs a transaction (transaction.atomic())")
        for name, value in params.items():
            # Refused here, not at the commit (where only database errors roll back cleanly).
            if isinstance(value, list | tuple | dict | set | bytes):
                raise TypeError(f"parameter {name!r}: pass a {type(value).__name__} as text (e.g. JSON) and cast it")
        statement = DeferredStatement(sql=sql, params=params, depth=self._savepoint_depth())
        self.deferred_statements.append(statement)
        return statement

    def _savepoint_depth(self) -> int:
        # atomic(savepoint=False) blocks push None: they are not savepoints of their own.
        return sum(1 for sid in self.savepoint_ids if sid is not None)

    def _run_deferred(self, statements: list[DeferredStatement], *, commit: bool) -> None:
        """Sends the statements (and the COMMIT) as one message; fills in their rows."""
        assert self.connection is not None
        cursor = psycopg.Cursor(self.connection)
        try:
            commands = [self._command(cursor, statement) for statement in statements]
            if commit:
                commands.append("COMMIT")
            # No parameters: psycopg sends it as one simple query (several statements allowed).
            cursor.execute(";\n".join(commands), prepare=False)
            # One result per command, in order; the COMMIT's (last) has no rows.
            for statement in statements:
                statement.rows = cursor.fetchall() if cursor.description is not None else []
                cursor.nextset()
        finally:
            cursor.close()

    def _command(self, cursor: psycopg.Cursor[Any], statement: DeferredStatement) -> str:
        """The statement as SQL text with its parameters as literals: an EXECUTE of it prepared
        (preparing it first on this connection if need be) or, with prepared statements off,
        the statement itself."""
        assert self.connection is not None
        escaping = psycopg.pq.Escaping(self.connection.pgconn)
        params = statement.params
        if self.settings_dict["OPTIONS"].get("prepare_threshold") is None:
            return _PLACEHOLDER.sub(
                lambda match: "%" if match.group(1) is None else _literal(escaping, params[match.group(1)]),
                statement.sql,
            )
        prepared = _prepared(statement.sql)
        names = _prepared_on.get(self.connection)
        if names is None:
            names = _prepared_on[self.connection] = set()
        if prepared.name not in names:
            cursor.execute(prepared.prepare, prepare=False)
            names.add(prepared.name)
        if not prepared.order:
            return f"EXECUTE {prepared.name}"
        return f"EXECUTE {prepared.name}({', '.join(_literal(escaping, params[key]) for key in prepared.order)})"

    def _commit(self) -> None:
        statements, self.deferred_statements = self.deferred_statements, []
        if not statements or self.connection is None:
            return super()._commit()  # type: ignore[misc]  # private in django-stubs
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
            # The COMMIT is in the message: the transaction has ended when it returns (psycopg's
            # commit() below then has nothing left to do). On an error, atomic() rolls back.
            self._run_deferred(statements, commit=True)
            self.connection.commit()

    def _rollback(self) -> None:
        self.deferred_statements = []
        super()._rollback()  # type: ignore[misc]  # private in django-stubs

    def _savepoint_commit(self, sid: str) -> None:
        # The savepoint's own statements (and any still queued below it) run before it is
        # released: they belong to the enclosing transaction from here on.
        statements, self.deferred_statements = self.deferred_statements, []
        if statements:
            with self.wrap_database_errors:
                self._run_deferred(statements, commit=False)
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
