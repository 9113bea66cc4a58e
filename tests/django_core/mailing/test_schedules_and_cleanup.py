"""The periodic jobs: defined once, stored for beat (editable in the admin), each naming a real
task; and the clean-up jobs those schedules run."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from mailing import tasks as mailing_tasks
from mailing.models import EmailDelivery
from notifications import tasks as notification_tasks
from notifications.models import Notification, OutboxEvent
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import tasks as account_tasks
from config.celery import app as celery_app
from config.schedules import SCHEDULES
from projects import tasks as project_tasks
from projects.models import Invite, InviteStatus
from tests.django_core.factories import UserFactory
from tests.django_core.notifications.helpers import set_relay_watermark


def install(*args: str) -> str:
    out = io.StringIO()
    call_command("schedules_install", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_schedules_are_installed_once_and_staff_changes_survive():
    # given the migration installed them: every schedule is there, naming a registered task
    celery_app.loader.import_default_modules()
    stored = {task.name: task for task in PeriodicTask.objects.all()}
    assert set(stored) >= {schedule.name for schedule in SCHEDULES}
    for schedule in SCHEDULES:
        assert stored[schedule.name].task == schedule.task
        assert schedule.task in celery_app.tasks, schedule.task
    assert str(stored["Deadline reminders"].crontab).startswith("* * * * *")

    # when staff change one and the command runs again
    PeriodicTask.objects.filter(name="Daily digests").update(enabled=False)
    assert install().startswith("0 schedule(s) written")
    # then their change stays, until a reset
    assert not PeriodicTask.objects.get(name="Daily digests").enabled
    assert install("--reset").startswith(f"{len(SCHEDULES)} schedule(s) written")
    assert PeriodicTask.objects.get(name="Daily digests").enabled
    # and a deleted one comes back
    PeriodicTask.objects.filter(name="Expire invites").delete()
    assert install().startswith("1 schedule(s) written: Expire invites")


@pytest.mark.django_db
def test_clean_up_jobs(team):
    old = timezone.now() - timedelta(days=400)
    owner = team["owner"]
    # pending invites past their expiry become expired; a valid one stays pending
    expired = Invite.objects.create(
        project=team["project"], email="a@example.com", invited_by=owner, token_hash="a" * 64, expires_at=old
    )
    valid = Invite.objects.create(
        project=team["project"],
        email="b@example.com",
        invited_by=owner,
        token_hash="b" * 64,
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert project_tasks.expire_invites() == 1
    assert Invite.objects.get(pk=expired.pk).status == InviteStatus.EXPIRED
    assert Invite.objects.get(pk=valid.pk).status == InviteStatus.PENDING

    # old read notifications go; unread and recent ones stay
    user = UserFactory()
    kept_unread = Notification.objects.create(
        recipient=user, event_id="00000000-0000-4000-8000-000000000001", type="task.created", message="m", data={}
    )
    gone = Notification.objects.create(
        recipient=user,
        event_id="00000000-0000-4000-8000-000000000002",
        type="task.created",
        message="m",
        data={},
        is_read=True,
    )
    kept_recent = Notification.objects.create(
        recipient=user,
        event_id="00000000-0000-4000-8000-000000000003",
        type="task.created",
        message="m",
        data={},
        is_read=True,
    )
    Notification.objects.filter(pk__in=[kept_unread.pk, gone.pk]).update(created_at=old)
    assert notification_tasks.prune_read() == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {kept_unread.pk, kept_recent.pk}

    # published outbox rows past the retention go
    row = OutboxEvent.objects.create(type="task.created", envelope={}, deliveries=[])
    OutboxEvent.objects.filter(pk=row.pk).update(created_at=old)
    set_relay_watermark(through=row)
    assert notification_tasks.prune_outbox() == 1

    # expired refresh tokens go with their blacklist entries; live ones stay
    dead = OutstandingToken.objects.create(user=user, jti="dead", token="t", expires_at=old)
    BlacklistedToken.objects.create(token=dead)
    live = OutstandingToken.objects.create(
        user=user, jti="live", token="t", expires_at=timezone.now() + timedelta(days=1)
    )
    assert account_tasks.prune_expired_tokens() >= 1
    assert list(OutstandingToken.objects.values_list("pk", flat=True)) == [live.pk]
    assert not BlacklistedToken.objects.exists()

    # the email log keeps what is recent or unfinished
    finished = EmailDelivery.objects.create(
        event_id="00000000-0000-4000-8000-000000000004", kind="digest", to_email="x@example.com", status="sent"
    )
    failing = EmailDelivery.objects.create(
        event_id="00000000-0000-4000-8000-000000000005", kind="digest", to_email="x@example.com", status="retrying"
    )
    EmailDelivery.objects.filter(pk__in=[finished.pk, failing.pk]).update(created_at=old)
    assert mailing_tasks.log_prune() == 1
    assert list(EmailDelivery.objects.values_list("pk", flat=True)) == [failing.pk]
