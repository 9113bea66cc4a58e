"""common.postgresql: statements deferred to the end of their transaction, against the real
PostgreSQL. They run with the COMMIT (or before their savepoint is released), are dropped by a
rollback, and one that fails takes the whole transaction with it."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from enum import Enum

import pytest
from django.db import DatabaseError, connection, transaction

from common.postgresql.base import _prepared

pytestmark = pytest.mark.django_db(transaction=True)

INSERT = "INSERT INTO deferred_probe (label) VALUES (%(label)s) RETURNING label"


@pytest.fixture
def probe() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE deferred_probe (label text NOT NULL)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE deferred_probe")


def labels() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT label FROM deferred_probe ORDER BY label")
        return [row[0] for row in cursor.fetchall()]


def write_now(label: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO deferred_probe (label) VALUES (%s)", [label])


def fail_after(step: Callable[[], object]) -> Callable[[], None]:
    """An atomic block that runs `step`, then fails."""

    def run() -> None:
        with transaction.atomic():
            step()
            raise RuntimeError("the service failed")

    return run


def test_a_deferred_statement_runs_with_the_commit(probe):
    with transaction.atomic():
        write_now("a")
        deferred = connection.defer_to_commit(INSERT, {"label": "b"})
        # not yet: it goes out with the COMMIT
        assert labels() == ["a"]
        assert deferred.rows is None
    assert deferred.rows == [("b",)]
    assert labels() == ["a", "b"]
    assert connection.deferred_statements == []


def test_a_deferred_statement_alone_in_its_transaction_commits(probe):
    with transaction.atomic():
        deferred = connection.defer_to_commit(INSERT, {"label": "only"})
    assert deferred.rows == [("only",)]
    assert labels() == ["only"]


def test_a_rollback_drops_what_was_deferred(probe):
    queued = []
    with pytest.raises(RuntimeError):
        fail_after(lambda: (write_now("a"), queued.append(connection.defer_to_commit(INSERT, {"label": "b"}))))()
    assert queued[0].rows is None
    assert connection.deferred_statements == []
    assert labels() == []


def test_a_savepoint_rolled_back_drops_only_its_own_statements(probe):
    with transaction.atomic():
        outer = connection.defer_to_commit(INSERT, {"label": "outer"})
        dropped = []
        with pytest.raises(RuntimeError):
            fail_after(lambda: dropped.append(connection.defer_to_commit(INSERT, {"label": "dropped"})))()
        with transaction.atomic(savepoint=False):
            plain = connection.defer_to_commit(INSERT, {"label": "plain"})
        with pytest.raises(RuntimeError):  # another nested failure, after a block without a savepoint
            fail_after(lambda: None)()
        with transaction.atomic():
            inner = connection.defer_to_commit(INSERT, {"label": "inner"})
        # a savepoint released runs what is queued: visible inside the transaction from then on
        assert inner.rows == [("inner",)]
        assert sorted(labels()) == ["inner", "outer", "plain"]
    assert dropped[0].rows is None
    assert outer.rows == [("outer",)]
    assert plain.rows == [("plain",)]
    assert labels() == ["inner", "outer", "plain"]


def test_a_failing_deferred_statement_fails_the_commit_and_keeps_nothing(probe):
    def write_then_fail_at_commit() -> None:
        with transaction.atomic():
            write_now("a")
            connection.defer_to_commit("INSERT INTO deferred_probe (label) VALUES (%(label)s)", {"label": None})

    with pytest.raises(DatabaseError):
        write_then_fail_at_commit()
    assert labels() == []
    # the connection is usable afterwards
    with transaction.atomic():
        write_now("c")
        connection.defer_to_commit(INSERT, {"label": "d"})
    assert labels() == ["c", "d"]


def test_deferring_outside_a_transaction_is_refused(probe):
    with pytest.raises(RuntimeError, match="transaction"):
        connection.defer_to_commit(INSERT, {"label": "x"})


# Parameters are bound as literals (libpq's quoting) into one simple-query message; whatever a
# value holds, it arrives as that value and never as SQL.
AWKWARD = [
    "O'Brien",
    "'); DROP TABLE deferred_probe; --",
    "back\\slash \\' and E'\\x41'",
    '"double" $1 $$dollar$$ %s %(label)s 100%',
    "Привет, мир — “quotes” ✓",
    "line\nbreak\ttab",
]


@pytest.mark.parametrize("prepared", [True, False], ids=["prepared", "inline"])
def test_parameters_arrive_as_they_were_whatever_they_hold(probe, prepared):
    options = connection.settings_dict["OPTIONS"]
    if not prepared:
        connection.settings_dict["OPTIONS"] = {k: v for k, v in options.items() if k != "prepare_threshold"}
    try:
        with transaction.atomic():
            deferred = [connection.defer_to_commit(INSERT, {"label": text}) for text in AWKWARD]
    finally:
        connection.settings_dict["OPTIONS"] = options
    assert [statement.rows for statement in deferred] == [[(text,)] for text in AWKWARD]
    assert sorted(labels()) == sorted(AWKWARD)


class Colour(Enum):  # str() gives "Colour.RED": the value is what must be sent
    RED = "red"


def test_typed_parameters_take_the_type_of_their_cast(probe):
    when = datetime(2030, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)
    event = uuid.uuid4()
    with transaction.atomic():
        deferred = connection.defer_to_commit(
            "SELECT %(when)s::timestamptz, %(id)s::uuid, %(n)s::bigint, %(flag)s::boolean, %(none)s::text,"
            " %(doc)s::jsonb ->> 'k', %(kind)s::text",
            {
                "when": when,
                "id": event,
                "n": 2**40,
                "flag": False,
                "none": None,
                "doc": '{"k": "v"}',
                "kind": Colour.RED,
            },
        )
    assert deferred.rows == [(when, event, 2**40, False, None, "v", "red")]


def test_a_list_parameter_is_refused_with_a_clear_message(probe):
    def write_then_defer_a_list() -> None:
        with transaction.atomic():
            write_now("a")
            connection.defer_to_commit("SELECT %(ids)s::bigint[]", {"ids": [1, 2]})

    with pytest.raises(TypeError, match="as text"):
        write_then_defer_a_list()
    assert labels() == []  # the transaction rolled back


def test_a_statement_is_prepared_once_per_connection_and_executed_after(probe):
    # (a second PREPARE of the same name would fail the commit: "already exists")
    for label in ("a", "b", "c"):
        with transaction.atomic():
            connection.defer_to_commit(INSERT, {"label": label})
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE name = %s", [_prepared(INSERT).name])
        assert [row[0] for row in cursor.fetchall()] == [_prepared(INSERT).prepare]
    assert labels() == ["a", "b", "c"]


def test_a_commit_refused_by_a_deferred_constraint_keeps_nothing(probe):
    # given a constraint PostgreSQL checks only at COMMIT, which the deferred statement breaks
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE deferred_probe ADD CONSTRAINT deferred_probe_once UNIQUE (label) DEFERRABLE INITIALLY DEFERRED"
        )

    def write_twice() -> None:
        with transaction.atomic():
            write_now("a")
            connection.defer_to_commit(INSERT, {"label": "a"})

    # then the COMMIT in the same message fails, and nothing of the transaction is kept
    with pytest.raises(DatabaseError, match="deferred_probe_once"):
        write_twice()
    assert labels() == []
    with transaction.atomic():
        connection.defer_to_commit(INSERT, {"label": "b"})
    assert labels() == ["b"]
