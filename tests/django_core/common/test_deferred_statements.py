"""common.postgresql: statements deferred to the end of their transaction, against the real
PostgreSQL. They run with the COMMIT (or before their savepoint is released), are dropped by a
rollback, and one that fails takes the whole transaction with it."""

from collections.abc import Callable, Iterator

import pytest
from django.db import DatabaseError, connection, transaction

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
