"""Issue 18: the broker loses queued mail tasks (its queue deleted, or Redis restarted without
persistence while the worker is down). Beat's "Email redispatch (lost tasks)" job hands the
event on again (mailing.dispatch.dispatch_unfinished): no email is silently dropped, and none is
sent twice (docs/background.md "Lost tasks")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.engines import RedisServer
from tests.faults.mail_stack import MailStack, running_mail_stack

pytestmark = pytest.mark.faults

REDISPATCH = "Email redispatch (lost tasks)"


@pytest.fixture
def mail(tmp_path: Path, redis_server: RedisServer) -> Iterator[MailStack]:
    with running_mail_stack(
        tmp_path,
        broker=redis_server,
        suffix="broker",
        user_id_start=710_100_000,
        EMAIL_REDISPATCH_AFTER="1",
    ) as stack:
        yield stack


def test_mail_tasks_lost_by_the_broker_are_dispatched_again_and_sent_once(mail: MailStack) -> None:
    # Given an event handed to the broker while no worker runs
    world = mail.world(prefix="broker")
    assert world["dispatched"] == 1
    assert mail.broker.client().llen("celery") == 1

    # When the broker restarts empty (no persistence), the task with it
    mail.broker.restart()
    assert mail.broker.client().llen("celery") == 0

    # Then once a worker and beat run, the sweep hands the event on again and the mail goes out once
    mail.every_second(REDISPATCH)
    mail.start_worker()
    mail.start_beat()
    message = mail.wait("the mail, dispatched again", lambda: mail.sink.messages[:1], timeout=25)[0]
    assert "broker-bob@example.com" in message["X-Envelope-To"]
    mail.wait(
        "the event finished",
        lambda: mail.query(
            "SELECT 1 FROM notifications_outboxevent WHERE id = %s AND channels_finished_at IS NOT NULL",
            world["outbox"],
        ),
    )
    time.sleep(1.5)  # the sweep runs every second: a second hand-off would have sent by now
    assert len(mail.sink.messages) == 1
    rows = mail.query("SELECT status, attempts FROM mailing_emaildelivery WHERE event_id = %s", world["event"])
    assert rows == [("sent", 1)]
