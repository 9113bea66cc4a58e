"""Lost mail tasks (docs/background.md "Lost tasks"): the worker stamps an event finished when
every mail of it is; beat's redispatch sweep hands on the events handed to the worker long ago and
not finished, never one whose mail is being sent or waits for its retry. The digests' own sweep
(digests_due) leaves digests in hand alone too."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks
from mailing import services
from mailing.dispatch import REDISPATCH_LOOKBACK, dispatch_unfinished, unfinished_events
from mailing.models import EmailDelivery
from notifications.models import OutboxEvent

from config.celery import app as celery_app
from config.schedules import schedules_install
from tasks import services as task_services
from tests.django_core.factories import TaskFactory
from tests.django_core.mailing.conftest import deliveries_settled
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def assignment(team, settings) -> OutboxEvent:
    """A task.assigned event (one mail, to the member), handed to the worker an hour ago."""
    settings.EMAIL_REDISPATCH_AFTER = timedelta(minutes=15)
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Lost")
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    row = OutboxEvent.objects.get(type="task.assigned")
    OutboxEvent.objects.filter(pk=row.pk).update(channels_dispatched_at=timezone.now() - timedelta(hours=1))
    row.refresh_from_db()
    return row


def delivery_in(row: OutboxEvent, status: str, lease_until: datetime | None) -> None:
    EmailDelivery.objects.create(
        event_id=row.event_id, kind=row.type, to_email="member@example.com", status=status, lease_until=lease_until
    )


def selected(row: OutboxEvent) -> bool:
    return unfinished_events(now=timezone.now()).filter(pk=row.pk).exists()


def test_an_event_whose_mail_task_was_lost_is_selected(assignment):
    assert selected(assignment)


def test_an_event_handed_on_recently_or_finished_or_long_ago_is_not(assignment):
    OutboxEvent.objects.filter(pk=assignment.pk).update(channels_dispatched_at=timezone.now() - timedelta(minutes=5))
    assert not selected(assignment)
    OutboxEvent.objects.filter(pk=assignment.pk).update(
        channels_dispatched_at=timezone.now() - timedelta(hours=1), channels_finished_at=timezone.now()
    )
    assert not selected(assignment)
    OutboxEvent.objects.filter(pk=assignment.pk).update(
        channels_finished_at=None, created_at=timezone.now() - REDISPATCH_LOOKBACK - timedelta(minutes=1)
    )
    assert not selected(assignment)


@pytest.mark.parametrize(
    ("status", "lease_from_now", "expected"),
    [
        ("sending", timedelta(minutes=2), False),  # being sent now
        ("sending", timedelta(seconds=-1), True),  # its sender died: the lease ran out
        ("retrying", timedelta(minutes=20), False),  # waits for its retry
        ("retrying", timedelta(minutes=-5), False),  # its retry is due: give it EMAIL_REDISPATCH_AFTER
        ("retrying", timedelta(minutes=-16), True),  # its retry never came
        ("pending", None, True),  # the task got no further than creating it
    ],
)
def test_an_event_whose_mail_a_task_has_in_hand_is_left_alone(assignment, status, lease_from_now, expected):
    delivery_in(assignment, status, timezone.now() + lease_from_now if lease_from_now is not None else None)
    assert selected(assignment) is expected


def test_the_worker_stamps_an_event_finished_only_when_every_mail_is(assignment, smtp_sink):
    # given a mail server that answers the first attempt with a temporary failure
    smtp_sink.rcpt_answers = ["451 4.3.0 Try again later"]
    retry_at = timezone.now() + timedelta(minutes=3)

    # when the worker's task runs: the mail waits for its retry, due when the task said
    outcomes = services.event_emails_send(outbox_id=assignment.pk, retry_at=retry_at)
    assert outcomes == [services.Outcome.RETRY]
    delivery = EmailDelivery.objects.get(event_id=assignment.event_id)
    assert (delivery.status, delivery.lease_until) == ("retrying", retry_at)
    assignment.refresh_from_db()
    assert assignment.channels_finished_at is None
    assert not selected(assignment)

    # when the retry sends it
    assert services.event_emails_send(outbox_id=assignment.pk) == [services.Outcome.SENT]
    assignment.refresh_from_db()
    assert assignment.channels_finished_at is not None
    assert not selected(assignment)


def test_a_lost_event_is_handed_on_again_once_and_mailed_once(assignment, celery_worker, smtp_sink, team):
    # given an event whose task the broker lost (no message anywhere)
    dispatched_before = assignment.channels_dispatched_at

    # when the sweep runs twice
    assert dispatch_unfinished() == 1
    assert dispatch_unfinished() == 0  # handed on just now: not again before EMAIL_REDISPATCH_AFTER

    # then the member gets the mail once and the event is finished
    assert wait_until(lambda: smtp_sink.to(team["member"].email))
    assert wait_until(deliveries_settled)
    assert wait_until(lambda: OutboxEvent.objects.get(pk=assignment.pk).channels_finished_at is not None)
    assignment.refresh_from_db()
    assert assignment.channels_dispatched_at > dispatched_before
    assert len(smtp_sink.to(team["member"].email)) == 1


def test_the_digest_sweep_leaves_a_digest_being_sent_or_waiting_for_its_retry_alone(team, settings):
    # given the member's digest due now (UTC, the digest hour)
    now = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    settings.DIGEST_HOUR = 8
    member = team["member"]
    key = services.digest_key(user_id=member.pk, day=now.date())
    assert (member.pk, now.date()) in services.digests_due(now=now)

    def digest(status: str, lease_until: datetime | None) -> None:
        EmailDelivery.objects.update_or_create(
            event_id=key,
            to_email=member.email,
            defaults={"kind": "digest", "user": member, "status": status, "lease_until": lease_until},
        )

    # then one being sent, or waiting for its retry, is not enqueued again
    digest("sending", now + timedelta(minutes=1))
    assert (member.pk, now.date()) not in services.digests_due(now=now)
    digest("retrying", now + timedelta(minutes=10))
    assert (member.pk, now.date()) not in services.digests_due(now=now)
    # and one whose sender died, or whose retry never came, is
    digest("sending", now - timedelta(seconds=1))
    assert (member.pk, now.date()) in services.digests_due(now=now)
    digest("retrying", now - timedelta(minutes=1))
    assert (member.pk, now.date()) in services.digests_due(now=now)
    digest("sent", None)
    assert (member.pk, now.date()) not in services.digests_due(now=now)


def test_the_redispatch_job_is_scheduled():
    # (a transactional test starts from empty tables: install the schedules as the migration does)
    schedules_install(
        periodic_task_model=PeriodicTask, crontab_model=CrontabSchedule, change_marker_model=PeriodicTasks
    )
    job = PeriodicTask.objects.get(name="Email redispatch (lost tasks)")
    assert (job.task, job.enabled, job.crontab.minute) == ("mailing.dispatch_unfinished", True, "*")
    assert "mailing.dispatch_unfinished" in celery_app.tasks
