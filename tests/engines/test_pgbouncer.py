"""PgBouncer in transaction mode in front of the tests' PostgreSQL: queries go through, and a
server connection belongs to a client for one transaction only (what TaskFlow must not rely on:
a session-level PREPARE is gone in the next transaction)."""

import contextlib
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.engines.fixtures import UPSTREAM_DATABASE_URL
from tests.engines.pgbouncer import PgBouncerEngine

pytestmark = pytest.mark.scaling


def test_a_query_goes_through_to_postgresql(pgbouncer: PgBouncerEngine) -> None:
    with pgbouncer.connect(autocommit=True) as connection:
        row = connection.execute("SELECT current_database(), current_setting('port')").fetchone()

    assert row == ("postgres", "5432")


def test_pool_mode_is_transaction(pgbouncer: PgBouncerEngine) -> None:
    with pgbouncer.connect("pgbouncer", autocommit=True) as admin:
        settings = {row[0]: row[1] for row in admin.execute("SHOW CONFIG").fetchall()}

    assert settings["pool_mode"] == "transaction"


def test_a_session_prepare_does_not_survive_into_the_next_transaction(pgbouncer: PgBouncerEngine) -> None:
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(pgbouncer.connect(autocommit=True))
        # One simple-protocol query, one implicit transaction: both on the same server connection.
        writer.execute("PREPARE taskflow_probe AS SELECT 42")
        prepared_on = writer.execute("SELECT pg_backend_pid()").fetchone()
        # Other clients hold transactions open until one of them holds that server connection.
        holders = []
        for _ in range(20):
            holder = stack.enter_context(pgbouncer.connect())
            holders.append(holder.execute("SELECT pg_backend_pid()").fetchone())
            if prepared_on in holders:
                break
        assert prepared_on in holders, "no other client got the server connection the PREPARE ran on"

        # The writer's next transaction runs on another server connection, where it was never
        # prepared.
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            writer.execute("EXECUTE taskflow_probe")


def test_directly_on_postgresql_the_same_prepare_survives() -> None:
    """The control: without PgBouncer the session keeps it (so the test above shows the mode). On
    the database the PgBouncer tests use (`postgres`, which every server has: DATABASE_URL's own
    database need not exist when only the tests have run)."""
    direct = urlsplit(UPSTREAM_DATABASE_URL)._replace(path="/postgres").geturl()
    with psycopg.connect(direct, autocommit=True, prepare_threshold=None) as connection:
        connection.execute("PREPARE taskflow_probe AS SELECT 42")
        assert connection.execute("EXECUTE taskflow_probe").fetchone() == (42,)
