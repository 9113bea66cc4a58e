"""Issue 18: a Celery worker killed while it sends a mail. The mail is sent exactly once after
redelivery.

The worker runs the prefork pool with acks_late and reject_on_worker_lost (config/settings.py): a
pool process that dies has its message requeued by the parent at once, and the redelivered task
takes the delivery over when the dead one's lease (EMAIL_SEND_LEASE) runs out. A worker killed
as a whole leaves its message unacknowledged in the broker for CELERY_VISIBILITY_TIMEOUT; beat's
redispatch sweep hands the event on sooner. The mail sink holds its answer to the message's DATA,
so the kill lands inside the SMTP conversation, before the server accepted anything
(docs/background.md "Lost tasks")."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.engines import RedisServer
from tests.faults.mail_stack import MailStack, kill_pool_process, pool_processes, running_mail_stack

pytestmark = pytest.mark.faults

# Short enough for the test: the redelivered task finds the delivery leased, retries with a
# backoff of about a second, and takes it over once the lease ran out.
FAST = {
    "EMAIL_SEND_LEASE": "2",
    "EMAIL_RETRY_BACKOFF": "0.5",
    "EMAIL_RETRY_BACKOFF_MAX": "1",
    "EMAIL_REDISPATCH_AFTER": "1",
}
REDISPATCH = "Email redispatch (lost tasks)"


@pytest.fixture
def mail(tmp_path: Path, redis_server: RedisServer) -> Iterator[MailStack]:
    with running_mail_stack(tmp_path, broker=redis_server, suffix="worker", user_id_start=710_000_000, **FAST) as stack:
        yield stack


def delivery(mail: MailStack, event: str) -> tuple[str, int, str]:
    rows = mail.query("SELECT status, attempts, message_id FROM mailing_emaildelivery WHERE event_id = %s", event)
    assert len(rows) == 1, rows
    return rows[0]


def test_a_pool_process_killed_mid_send_has_its_mail_sent_once(mail: MailStack) -> None:
    # Given a worker (one pool process) and a mail server that will stall on the next message
    worker = mail.start_worker(concurrency=1)
    mail.sink.hold_next_data()
    world = mail.world(prefix="child")
    assert world["dispatched"] == 1
    mail.wait("the worker inside its SMTP send", mail.sink.holding.is_set)

    # When the pool process dies there (SIGKILL: the OOM killer, a crash)
    killed = kill_pool_process(worker)

    # Then the parent requeues the message, a new pool process takes the delivery over once the
    # lease ran out, and the server gets the mail once
    message = mail.wait("the mail, after redelivery", lambda: mail.sink.messages[:1])[0]
    _, attempts, message_id = mail.wait(
        "the delivery recorded as sent", lambda: (row := delivery(mail, world["event"]))[0] == "sent" and row
    )
    time.sleep(1.0)  # a duplicate would have arrived by now (the retries are a second apart)
    assert mail.sink.dropped == 1  # the killed send, never acknowledged by the server
    assert str(message["Message-ID"]).strip() == message_id
    assert len(mail.sink.with_header("Message-ID", message_id)) == 1
    assert len(mail.sink.messages) == 1
    assert attempts == 2
    finished = "SELECT channels_finished_at IS NOT NULL FROM notifications_outboxevent WHERE id = %s"
    assert mail.query(finished, world["outbox"]) == [(True,)]
    assert worker.running, "the worker itself carried on"
    assert killed not in pool_processes(worker)


def test_a_whole_worker_killed_mid_send_has_its_mail_sent_once(mail: MailStack) -> None:
    # Given a worker and a mail server that will stall on the next message
    worker = mail.start_worker(concurrency=1)
    mail.sink.hold_next_data()
    world = mail.world(prefix="whole")
    mail.wait("the worker inside its SMTP send", mail.sink.holding.is_set)

    # When the whole worker dies there (SIGKILL to its process group: the container killed): its
    # message stays in the broker's unacknowledged set until CELERY_VISIBILITY_TIMEOUT (an hour)
    worker.stop(signal.SIGKILL)
    mail.wait("the send dropped by the server", lambda: mail.sink.dropped == 1)

    # Then beat's redispatch sweep hands the event to a new worker once the lease ran out, and
    # the server gets the mail once
    mail.every_second(REDISPATCH)
    mail.start_worker(name="worker-again", concurrency=1)
    mail.start_beat()
    mail.wait("the mail, dispatched again", lambda: mail.sink.messages[:1])
    _, attempts, message_id = mail.wait(
        "the delivery recorded as sent", lambda: (row := delivery(mail, world["event"]))[0] == "sent" and row
    )
    time.sleep(1.0)  # the sweep runs every second: a second hand-off would have sent by now
    assert len(mail.sink.with_header("Message-ID", message_id)) == 1
    assert len(mail.sink.messages) == 1
    assert attempts == 2
