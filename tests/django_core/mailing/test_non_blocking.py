"""No request waits for a mail server: the request commits an outbox row and returns; the outbox
relay (a real `manage.py outbox_relay` process) hands the event to the real worker, which is the
one left waiting on the stalled SMTP server."""

import subprocess
import sys
import time

import pytest
from django.conf import settings
from mailing.models import EmailDelivery

from tests.django_core.factories import TaskFactory
from tests.django_core.notifications_faults.conftest import DJANGO_CORE
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relay(child_env, tmp_path):
    log = tmp_path / "relay.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "outbox_relay", "--interval", "0.2", "--grace", "0"],
            cwd=DJANGO_CORE,
            env=child_env(CELERY_BROKER_URL=settings.REDIS_URL),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield process, log
    process.terminate()
    process.wait(timeout=10)


def test_a_request_that_triggers_mail_returns_while_the_mail_server_stalls(
    celery_worker, stalled_smtp, relay, team, client_for
):
    # given a worker, the relay, and a mail server that accepts connections but never answers
    # (it would hold a client for EMAIL_TIMEOUT = 30 s)
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Stall")

    # when a request assigns the task (which mails the assignee)
    started = time.monotonic()
    response = client_for(team["owner"]).patch(f"/api/tasks/{task.pk}", {"assignee": team["member"].pk}, format="json")
    elapsed = time.monotonic() - started

    # then it answers at once, nowhere near the mail server's stall
    assert response.status_code == 200, response.content
    assert elapsed < 2.0
    # and the mail is under way all the same: the worker is the one stuck talking to the server
    process, log = relay
    assert wait_until(lambda: EmailDelivery.objects.filter(status="sending").exists(), timeout=20), log.read_text()
    assert EmailDelivery.objects.get().to_email == team["member"].email
    assert process.poll() is None
