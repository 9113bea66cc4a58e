"""Event emails end to end: a service commits an event, the dispatcher (as the outbox relay
calls it) enqueues it on the real Redis broker, a real Celery worker renders and sends it to a
real SMTP server."""

import pytest
from celery.signals import task_postrun
from django.utils import translation
from mailing.dispatch import dispatch_pending
from mailing.models import EmailDelivery
from notifications.models import NotificationPreference, OutboxEvent

from accounts.models import User
from config.celery import app as celery_app
from projects import services as project_services
from projects.models import Invite, Membership, Role
from tasks import services as task_services
from tasks.models import TaskWatcher
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory
from tests.django_core.mailing.conftest import deliveries_settled, parts
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_invite_to_an_address_without_account_mails_a_working_accept_link(
    celery_worker, smtp_sink, team, api_client, client_for
):
    # given an owner who writes Russian
    owner = team["owner"]
    User.objects.filter(pk=owner.pk).update(language="ru", name="Ольга")
    owner.refresh_from_db()

    # when they invite an address nobody has an account for, and the event is dispatched
    created = project_services.invite_create(
        project=team["project"], actor=owner, email="newcomer@example.com", role=Role.MEMBER
    )
    assert dispatch_pending() == 1

    # then the invitee gets one email, in the inviter's language, with both parts
    assert wait_until(lambda: smtp_sink.to("newcomer@example.com")), EmailDelivery.objects.values()
    [message] = smtp_sink.to("newcomer@example.com")
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert message["Subject"].strip() == "Ольга приглашает вас в «Project 0» в TaskFlow".replace(
        "Project 0", team["project"].name
    )
    assert "Принять приглашение" in body["text/plain"]
    assert "Принять приглашение" in body["text/html"]
    # no preferences to point at for someone without an account
    assert message["List-Unsubscribe"] is None
    # and its link carries the token that accepts the invite
    link = next(line for line in body["text/plain"].splitlines() if "/invite/accept?token=" in line)
    token = link.split("token=", 1)[1].strip()
    assert token == created.token
    assert f"/invite/accept?token={token}" in body["text/html"]
    newcomer = UserFactory(email="newcomer@example.com")
    response = client_for(newcomer).post("/api/invites/accept", {"token": token}, format="json")
    assert response.status_code in (200, 201), response.content
    assert Membership.objects.filter(project=team["project"], user=newcomer, role=Role.MEMBER).exists()
    assert EmailDelivery.objects.get(to_email="newcomer@example.com").status == "sent"


def test_an_assignment_mails_each_recipient_in_their_language_threaded_per_task(celery_worker, smtp_sink, team):
    # given a task reported by an English speaker, watched by someone who turned assignment
    # emails off, and a Russian-speaking member
    project, owner = team["project"], team["owner"]
    reporter = UserFactory(name="Rita", language="en", email="rita@example.com")
    assignee = UserFactory(name="Борис", language="ru", email="boris@example.com", timezone="Europe/Moscow")
    quiet = UserFactory(name="Quiet", email="quiet@example.com")
    for person in (reporter, assignee, quiet):
        MembershipFactory(project=project, user=person, role=Role.MEMBER)
    task = TaskFactory(project=project, reporter=reporter, title="Launch", title_ru="Запуск")
    for person in (reporter, quiet):
        TaskWatcher.objects.create(task=task, user=person)
    NotificationPreference.objects.create(user=quiet, event_type="task.assigned", web=True, email=False, telegram=False)
    User.objects.filter(pk=quiet.pk).update(has_notification_preferences=True)

    # when the owner assigns it to the Russian speaker and the event is dispatched
    task_services.task_update(task=task, actor=owner, fields={"assignee": assignee})
    assert dispatch_pending() == 1

    # then the assignee and the reporter get one mail each, nobody else
    assert wait_until(lambda: len(smtp_sink.messages) >= 2 and deliveries_settled())
    assert sorted(m["To"] for m in smtp_sink.messages) == ["boris@example.com", "rita@example.com"]
    [russian] = smtp_sink.to("boris@example.com")
    [english] = smtp_sink.to("rita@example.com")
    ru, en = parts(russian), parts(english)
    assert "назначает вам задачу «Запуск»" in ru["text/plain"]
    assert "назначает вам задачу «Запуск»" in ru["text/html"]
    assert "Здравствуйте, Борис!" in ru["text/plain"]
    assert "Запуск" in russian["Subject"]
    assert "Открыть задачу" in ru["text/plain"]
    assert "Открыть задачу" in ru["text/html"]
    assert "Launch" in english["Subject"]
    assert f"assigned “Launch” to {assignee.name}" in en["text/plain"]
    assert "Open the task" in en["text/html"]
    assert f"/tasks/{task.pk}" in en["text/plain"]
    # both belong to the task's thread, each with its own Message-ID
    thread = f"<task-{task.pk}@taskflow.localhost>"
    for message in (russian, english):
        assert message["In-Reply-To"] == thread
        assert message["References"] == thread
        assert "/settings/notifications" in message["List-Unsubscribe"]
    assert russian["Message-ID"] != english["Message-ID"]
    assert EmailDelivery.objects.filter(status="sent").count() == 2


def test_the_same_event_delivered_twice_is_mailed_once(celery_worker, smtp_sink, team):
    # given an assignment event, and a count of finished runs of the mail task
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Once")
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    row = OutboxEvent.objects.get(type="task.assigned")
    runs: list[str] = []

    def count(sender, **kwargs):
        if sender.name == "mailing.event_emails_send":
            runs.append(kwargs["task_id"])

    task_postrun.connect(count, weak=False)
    try:
        # when the dispatcher hands it over and the same message is delivered twice more
        assert dispatch_pending() == 1
        assert dispatch_pending() == 0
        celery_app.send_task("mailing.event_emails_send", args=[row.pk])
        celery_app.send_task("mailing.event_emails_send", args=[row.pk])

        # then all three runs finish and the assignee got exactly one mail
        assert wait_until(lambda: len(runs) == 3)
    finally:
        task_postrun.disconnect(count)
    assert len(smtp_sink.to(team["member"].email)) == 1
    assert EmailDelivery.objects.filter(event_id=row.event_id).count() == 1
    assert EmailDelivery.objects.get(event_id=row.event_id).attempts == 1


def test_a_refusing_mail_server_is_retried_with_backoff_until_it_accepts(celery_worker, smtp_sink, team):
    # given a mail server that refuses the first two attempts (temporary failure)
    smtp_sink.rcpt_answers = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Persist")

    # when a mail is due
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    dispatch_pending()

    # then the failure is recorded, and the retry delivers it, once
    assert wait_until(lambda: smtp_sink.to(team["member"].email))
    assert wait_until(deliveries_settled)
    delivery = EmailDelivery.objects.get(to_email=team["member"].email)
    assert delivery.status == "sent"
    assert delivery.attempts == 3
    assert "451" in delivery.error or delivery.error == ""
    assert len(smtp_sink.to(team["member"].email)) == 1


def test_a_permanent_refusal_is_recorded_as_failed_and_shown_in_the_admin(celery_worker, smtp_sink, team, admin_client):
    # given a mail server that rejects the recipient for good
    smtp_sink.rcpt_answers = ["550 5.1.1 No such user"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Bounce")

    # when a mail is due
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
    dispatch_pending()

    # then it is not retried but recorded as failed with the server's answer
    assert wait_until(lambda: EmailDelivery.objects.filter(status="failed").exists())
    delivery = EmailDelivery.objects.get()
    assert delivery.attempts == 1
    assert "550" in delivery.error
    # and staff see it among the failures
    page = admin_client.get("/admin/mailing/emaildelivery/", {"status__exact": "failed"})
    assert page.status_code == 200
    assert team["member"].email in page.content.decode()


def test_an_invite_answered_before_its_mail_goes_out_is_not_mailed(celery_worker, smtp_sink, team):
    # given an invite revoked before the worker gets to it
    created = project_services.invite_create(
        project=team["project"], actor=team["owner"], email="late@example.com", role=Role.MEMBER
    )
    project_services.invite_revoke(invite=created.invite, actor=team["owner"])

    # when it is dispatched
    dispatch_pending()

    # then nothing is sent and the delivery says why
    assert wait_until(lambda: EmailDelivery.objects.filter(status="skipped").exists())
    assert smtp_sink.messages == []
    assert Invite.objects.get().status == "revoked"


def test_events_without_email_recipients_are_not_dispatched(team):
    # given a comment (web only by default) and an assignment (email by default)
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Quiet")
    TaskWatcher.objects.create(task=task, user=team["member"])
    task_services.comment_create(task=task, author=team["owner"], body="hi")
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})

    # then the database knows which needs the mail worker (computed from `recipients`)
    needs = dict(OutboxEvent.objects.values_list("type", "needs_channels"))
    assert needs == {"task.commented": False, "task.assigned": True}
    with translation.override("en"):
        assert dispatch_pending() == 1
    assert OutboxEvent.objects.get(type="task.assigned").channels_dispatched_at is not None
    assert OutboxEvent.objects.get(type="task.commented").channels_dispatched_at is None
    assert dispatch_pending() == 0


def test_deadline_reminders_are_mailed_once_and_never_for_done_tasks(celery_worker, smtp_sink, team):
    # given a task due in 20 hours and a finished one due in 2
    from datetime import timedelta

    from django.utils import timezone
    from reminders.services import deadline_reminders_scan

    from tasks.models import TaskStatus

    open_task = TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        title="Due",
        deadline=timezone.now() + timedelta(hours=20),
    )
    TaskFactory(
        project=team["project"],
        reporter=team["owner"],
        assignee=team["member"],
        title="Finished",
        status=TaskStatus.DONE,
        deadline=timezone.now() + timedelta(hours=2),
    )

    # when the scan runs twice and the events are dispatched
    deadline_reminders_scan()
    deadline_reminders_scan()
    assert dispatch_pending() == 1

    # then the assignee and the reporter get one reminder each, about the open task
    assert wait_until(lambda: len(smtp_sink.messages) >= 2 and deliveries_settled())
    assert sorted(m["To"] for m in smtp_sink.messages) == sorted([team["member"].email, team["owner"].email])
    for message in smtp_sink.messages:
        assert "“Due” is due within 24 hours." in parts(message)["text/plain"]
        assert message["In-Reply-To"] == f"<task-{open_task.pk}@taskflow.localhost>"
