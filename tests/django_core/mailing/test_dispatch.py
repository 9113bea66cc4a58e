"""Handing events to the worker when the broker is down: the outbox relay keeps publishing, the
rows stay undispatched, and they go out once the broker is back."""

import pytest
from django.conf import settings
from notifications.models import OutboxEvent

from tasks import services as task_services
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications_faults.conftest import run_python

pytestmark = pytest.mark.django_db(transaction=True)

RELAY_ONCE = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('outbox_relay', '--once', '--grace', '0')"
)


def test_with_the_broker_down_events_stay_undispatched_until_it_is_back(team, child_env):
    # given an assignment (an email is due)
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Later")
    task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})

    # when the relay runs while the broker cannot be reached
    down = run_python(RELAY_ONCE, env=child_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"))

    # then it still publishes, says why it could not dispatch, and leaves the row for later
    assert down.returncode == 0, down.stderr
    assert "dispatched 0 event(s)" in down.stdout
    assert "could not hand events on (mailing.dispatch.dispatch_pending)" in down.stderr
    row = OutboxEvent.objects.get(type="task.assigned")
    assert row.channels_dispatched_at is None

    # when the broker is back
    up = run_python(RELAY_ONCE, env=child_env(CELERY_BROKER_URL=settings.REDIS_URL))
    # then the row is handed over
    assert up.returncode == 0, up.stderr
    assert "dispatched 1 event(s)" in up.stdout
    row.refresh_from_db()
    assert row.channels_dispatched_at is not None
