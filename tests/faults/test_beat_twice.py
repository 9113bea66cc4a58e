"""Issue 18: two celery beats against one database (the docs say run exactly one; this is what
happens when someone does not). Every job then runs twice as often, concurrently; reminders are
claimed in the database and digests per (user, local day), so each reminder, its notification
and its mail, and each digest, exist once (docs/background.md "Deadline reminders", "Daily
digest")."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.faults.engines import RedisServer
from tests.faults.mail_stack import MailStack, running_mail_stack

pytestmark = pytest.mark.faults

JOBS = ("Deadline reminders", "Email dispatch (safety net)", "Daily digests")


@pytest.fixture
def mail(tmp_path: Path, redis_server: RedisServer) -> Iterator[MailStack]:
    with running_mail_stack(
        tmp_path,
        broker=redis_server,
        suffix="beat",
        user_id_start=710_200_000,
        # Digest time now, in UTC (the users' zone): the digest is due from the first run on.
        DIGEST_HOUR=str(datetime.now(UTC).hour),
    ) as stack:
        yield stack


def test_two_beats_remind_once_and_digest_once(mail: MailStack) -> None:
    # Given Bob's tasks: one due in 30 minutes (the 1-hour reminder), one an hour overdue, one
    # without a deadline; reported by Ada
    world = mail.world(prefix="beats", deadlines_in_minutes=(30, -60))
    due_soon, overdue = world["deadline_tasks"]

    # When two beats run the reminder, dispatch and digest jobs every second, with a worker
    mail.every_second(*JOBS)
    mail.start_worker(concurrency=2)
    beats = [mail.start_beat("beat-a"), mail.start_beat("beat-b")]
    reminder_events = (
        "SELECT (envelope->'data'->'task'->>'id')::bigint, type, envelope->'data'->>'window', event_id::text"
        " FROM notifications_outboxevent WHERE type IN ('task.deadline_approaching', 'task.overdue')"
    )
    mail.wait("both reminders emitted", lambda: len(mail.query(reminder_events)) >= 2)
    mail.wait(
        "Bob's digest sent",
        lambda: mail.query(
            "SELECT 1 FROM mailing_emaildelivery WHERE kind = 'digest' AND to_email = %s AND status = 'sent'",
            world["bob"],
        ),
    )
    mail.wait("every event's mail finished", lambda: _all_mail_finished(mail))
    time.sleep(3.0)  # six more runs of each job (two beats, every second)
    mail.wait("every event's mail finished", lambda: _all_mail_finished(mail))

    # Then both beats did send the jobs
    for beat in beats:
        assert beat.running
        assert beat.log_path.read_text().count("Sending due task Deadline reminders") >= 2, beat.log_tail()

    # and each reminder exists once: its claim, its event, its notifications, its mails
    reminders = mail.query("SELECT task_id, kind, status FROM reminders_deadlinereminder ORDER BY task_id")
    assert reminders == [(due_soon, "1h", "emitted"), (overdue, "overdue", "emitted")]
    events = mail.query(reminder_events)
    assert sorted((task, kind, window) for task, kind, window, _ in events) == [
        (due_soon, "task.deadline_approaching", "1h"),
        (overdue, "task.overdue", None),
    ]
    event_ids = [event for *_, event in events]
    notifications = mail.query(
        "SELECT event_id::text, recipient_id FROM notifications_notification WHERE event_id::text = ANY(%s)", event_ids
    )
    assert notifications, "the reminders notify"
    assert max(Counter(notifications).values()) == 1
    deliveries = mail.query(
        "SELECT event_id::text, to_email, kind, status, message_id FROM mailing_emaildelivery ORDER BY id"
    )
    reminder_mails = [row for row in deliveries if row[0] in event_ids]
    assert sorted((kind, to) for _, to, kind, *_ in reminder_mails) == [
        ("task.deadline_approaching", world["ada"]),
        ("task.deadline_approaching", world["bob"]),
        ("task.overdue", world["ada"]),
        ("task.overdue", world["bob"]),
    ]
    # and one digest per user (Ada's is empty: skipped, not sent)
    digests = Counter(to for _, to, kind, *_ in deliveries if kind == "digest")
    assert digests[world["bob"]] == 1
    assert max(digests.values()) == 1
    # and the mail server got each sent delivery once, nothing else
    sent = [message_id for *_, status, message_id in deliveries if status == "sent"]
    received = Counter(str(message["Message-ID"]).strip() for message in mail.sink.messages)
    assert received == Counter(sent)
    assert max(received.values()) == 1


def _all_mail_finished(mail: MailStack) -> bool:
    unfinished = mail.query(
        "SELECT count(*) FROM notifications_outboxevent WHERE needs_channels AND channels_finished_at IS NULL"
    )
    busy = mail.query("SELECT count(*) FROM mailing_emaildelivery WHERE status NOT IN ('sent', 'failed', 'skipped')")
    return unfinished == [(0,)] and busy == [(0,)]
