"""Mail never breaks on what users typed, and one failed mail never holds up the others: a title
with a newline still gives a one-line subject, and a send that fails in an unexpected way is
recorded as failed while the event's other recipients get theirs."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from mailing import services
from mailing.models import EmailDelivery
from reminders.services import deadline_reminders_scan

from tasks import services as task_services
from tasks.models import Task, TaskWatcher
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory
from tests.django_core.notifications.helpers import only_outbox

pytestmark = pytest.mark.django_db


def test_a_title_with_a_newline_still_mails_a_one_line_subject(smtp_sink, team):
    # given a task whose title holds a newline (stored before titles were checked)
    task = TaskFactory(project=team["project"], reporter=team["owner"])
    Task.objects.filter(pk=task.pk).update(title_en="Line one\r\nBcc: victim@example.com")
    task.refresh_from_db()
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    row = only_outbox("task.assigned")

    outcomes = services.event_emails_send(outbox_id=row.pk)

    # then the mail went out, its subject on one line, no header smuggled in
    assert outcomes == [services.Outcome.SENT]
    [message] = smtp_sink.to(team["member"].email)
    assert "\n" not in message["Subject"]
    assert "Line one Bcc: victim@example.com" in message["Subject"]
    assert message["Bcc"] is None
    assert EmailDelivery.objects.get(to_email=team["member"].email).status == "sent"


def test_a_send_that_fails_unexpectedly_is_failed_and_the_others_still_go(smtp_sink, team, monkeypatch):
    # given a deadline reminder for a task with three people to mail
    watcher = UserFactory()
    MembershipFactory(project=team["project"], user=watcher, role="member")
    task = TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        deadline=timezone.now() + timedelta(minutes=30),
    )
    TaskWatcher.objects.create(task=task, user=watcher)
    deadline_reminders_scan()
    row = only_outbox("task.deadline_approaching")
    doomed = team["member"].email
    send = EmailMultiAlternatives.send

    def send_or_break(message, *args, **kwargs):
        if message.to == [doomed]:
            raise ValueError("the backend broke")
        return send(message, *args, **kwargs)

    monkeypatch.setattr(EmailMultiAlternatives, "send", send_or_break)

    outcomes = services.event_emails_send(outbox_id=row.pk)

    # then the broken one is failed (not left "sending"), with its error, and the others are sent
    assert sorted(outcomes) == sorted([services.Outcome.FAILED, services.Outcome.SENT, services.Outcome.SENT])
    broken = EmailDelivery.objects.get(to_email=doomed)
    assert broken.status == "failed"
    assert "the backend broke" in broken.error
    assert smtp_sink.to(team["owner"].email)
    assert smtp_sink.to(watcher.email)
