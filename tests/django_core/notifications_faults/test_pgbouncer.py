"""The write path and the outbox relay through PgBouncer in transaction mode (tests/engines), with
nothing else changed: a server connection is a client's for one transaction only, so anything
the code left on a session (a prepared statement, a SET, an advisory lock) would be missing, or
someone else's, in the next transaction."""

import pytest
from django.conf import settings
from notifications.models import OutboxEvent

from tests.django_core.notifications.helpers import relay_passed
from tests.django_core.notifications_faults.conftest import django_process_env, run_python, stream_event_ids
from tests.engines.pgbouncer import PgBouncerEngine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.scaling]

WRITES = 12  # past psycopg's default threshold for preparing a statement (5)

# Runs in its own interpreter, connected through PgBouncer: WRITES tasks, each its own transaction
# with its event (the fast path publishes after each commit), then relay passes until the relay
# has passed every row.
WRITE_THEN_RELAY = r"""
import sys, time
import django
django.setup()
from accounts.models import User
from notifications.publisher import outbox_publish_pending, outbox_unpublished_count
from projects.models import Project
from tasks import services

owner, project = User.objects.get(pk=int(sys.argv[1])), Project.objects.get(pk=int(sys.argv[2]))
for number in range(int(sys.argv[3])):
    services.task_create(actor=owner, project=project, title=f"through PgBouncer {number}")
deadline = time.monotonic() + 30
while outbox_unpublished_count() and time.monotonic() < deadline:
    outbox_publish_pending()
    time.sleep(0.05)
print("left", outbox_unpublished_count(), flush=True)
"""


def test_the_write_path_and_the_relay_work_through_pgbouncer_in_transaction_mode(team, pgbouncer: PgBouncerEngine):
    database = settings.DATABASES["default"]["NAME"]
    env = django_process_env(DATABASE_URL=pgbouncer.url(database))
    try:
        result = run_python(WRITE_THEN_RELAY, str(team["owner"].pk), str(team["project"].pk), str(WRITES), env=env)
    finally:
        # PgBouncer keeps its server connections to the test database: let it go (or dropping
        # the database at the end of the session would fail).
        with pgbouncer.connect("pgbouncer", autocommit=True) as admin:
            admin.execute(f"KILL {database}")
            admin.execute(f"RESUME {database}")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["left", "0"], result.stdout
    rows = list(OutboxEvent.objects.order_by("board_seq"))
    assert [row.board_seq for row in rows] == list(range(1, WRITES + 1))
    assert all(relay_passed(row) for row in rows)
    assert stream_event_ids(team["member"].pk) == [str(row.event_id) for row in rows]
