# ruff: noqa: RUF001 (Russian text, not look-alike letters)
"""The daily digest: who is due when (each user's own time zone), what it lists, once a day,
nothing when empty. Sent by the real worker to a real SMTP server."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, timezone, translation
from mailing import services
from mailing.models import EmailDelivery
from notifications.models import NotificationPreference

from config.celery import app as celery_app
from tasks.models import TaskStatus
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.django_core.mailing.conftest import deliveries_settled, parts
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_digest_is_due_at_the_digest_hour_of_each_users_own_time_zone(settings):
    # given DIGEST_HOUR 8 and people in Tokyo (UTC+9), New York (UTC-5 in winter) and UTC
    settings.DIGEST_HOUR = 8
    tokyo = UserFactory(timezone="Asia/Tokyo")
    new_york = UserFactory(timezone="America/New_York")
    utc = UserFactory(timezone="UTC")
    UserFactory(timezone="Asia/Tokyo", is_active=False)

    # when it is 23:30 UTC on 24 November: 08:30 on the 25th in Tokyo
    due = services.digests_due(now=datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    # then only Tokyo is due, for its own date
    assert due == [(tokyo.pk, date(2026, 11, 25))]

    # at 13:10 UTC it is 08:10 in New York
    assert services.digests_due(now=datetime(2026, 11, 25, 13, 10, tzinfo=UTC)) == [(new_york.pk, date(2026, 11, 25))]
    # at 08:00 UTC, UTC itself
    assert services.digests_due(now=datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == [(utc.pk, date(2026, 11, 25))]
    # three hours after the digest hour it is too late for the day; before it, too early
    assert services.digests_due(now=datetime(2026, 11, 25, 11, 0, tzinfo=UTC)) == []
    assert services.digests_due(now=datetime(2026, 11, 25, 7, 59, tzinfo=UTC)) == []


def test_a_sent_digest_is_not_due_again_and_opting_out_of_task_emails_means_no_digest(settings):
    settings.DIGEST_HOUR = 8
    sent, quiet, waiting = UserFactory(), UserFactory(), UserFactory()
    now = datetime(2026, 11, 25, 8, 15, tzinfo=UTC)
    EmailDelivery.objects.create(
        event_id=services.digest_key(user_id=sent.pk, day=now.date()), kind="digest", to_email=sent.email, status="sent"
    )
    for event_type in services.DIGEST_EVENT_TYPES:
        NotificationPreference.objects.create(user=quiet, event_type=event_type, web=True, email=False, telegram=False)

    assert services.digests_due(now=now) == [(waiting.pk, now.date())]


def test_the_digest_lists_overdue_due_soon_and_newly_assigned_work_in_the_readers_time_and_language(
    celery_worker, smtp_sink, team
):
    # given a Russian reader in Tokyo with an overdue task, one due in 5 hours, one assigned this
    # morning without a deadline, a finished task and a task of someone else's
    reader = UserFactory(name="Аня", language="ru", timezone="Asia/Tokyo", email="anya@example.com")
    project = ProjectFactory(name="Site", name_ru="Сайт")
    MembershipFactory(project=project, user=reader)
    now = timezone.now()
    overdue = TaskFactory(
        project=project, assignee=reader, title="Late", title_ru="Опоздавшая", deadline=now - timedelta(hours=3)
    )
    soon = TaskFactory(project=project, assignee=reader, title="Soon", deadline=now + timedelta(hours=5))
    fresh = TaskFactory(project=project, assignee=reader, title="Fresh", assigned_at=now - timedelta(hours=2))
    TaskFactory(
        project=project, assignee=reader, title="Finished", status=TaskStatus.DONE, deadline=now - timedelta(hours=1)
    )
    TaskFactory(project=project, assignee=team["member"], title="Not yours", deadline=now + timedelta(hours=1))
    day = now.astimezone(ZoneInfo("Asia/Tokyo")).date()

    # when the worker sends the reader's digest (twice: beat may enqueue it again)
    celery_app.send_task("mailing.digest_send", args=[reader.pk, day.isoformat()])
    celery_app.send_task("mailing.digest_send", args=[reader.pk, day.isoformat()])

    # then one mail arrives, in Russian, with both parts
    assert wait_until(lambda: smtp_sink.to("anya@example.com") and deliveries_settled())
    [message] = smtp_sink.to("anya@example.com")
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    text = body["text/plain"]
    assert message["Subject"].strip().startswith("Ваша сводка TaskFlow за")
    assert "Здравствуйте, Аня!" in text
    # listing each section with its tasks (translated titles and project names)
    overdue_part = text.split("Просрочено (1):")[1].split("Скоро срок")[0]
    assert "Опоздавшая [Сайт]" in overdue_part
    soon_part = text.split("Скоро срок (1):")[1].split("Назначено вам")[0]
    assert "Soon [Сайт]" in soon_part
    assert "Назначено вам со вчерашнего дня (1):" in text
    assert "Fresh [Сайт]" in text
    assert "Finished" not in text
    assert "Not yours" not in text
    for task in (overdue, soon, fresh):
        assert f"/tasks/{task.pk}" in body["text/html"]
    # with times in the reader's own zone
    with translation.override("ru"):
        local = formats.date_format(timezone.localtime(soon.deadline, ZoneInfo("Asia/Tokyo")), "DATETIME_FORMAT")
    assert f"срок: {local}" in text
    assert "Asia/Tokyo" in text
    assert EmailDelivery.objects.get(to_email="anya@example.com").status == "sent"


def test_an_empty_digest_is_not_sent(celery_worker, smtp_sink):
    # given someone with nothing open
    idle = UserFactory(email="idle@example.com")
    TaskFactory(assignee=idle, status=TaskStatus.DONE, deadline=timezone.now() + timedelta(hours=1))

    # when their digest runs
    celery_app.send_task("mailing.digest_send", args=[idle.pk, timezone.now().date().isoformat()])

    # then nothing is sent, and the day is recorded as done so beat does not try again
    assert wait_until(lambda: EmailDelivery.objects.filter(to_email="idle@example.com", status="skipped").exists())
    assert smtp_sink.messages == []
