"""Account mails end to end: registering or asking for a password reset enqueues, after commit, a
task that a real Celery worker runs against a real SMTP server; the mail is in the user's
language and its link carries a working token."""

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext
from mailing.models import EmailDelivery

from accounts.models import User
from accounts.services import password_reset_request, user_create
from tests.django_core.factories import DEFAULT_PASSWORD, UserFactory
from tests.django_core.mailing.conftest import deliveries_settled, parts
from tests.django_core.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "violet canyon ferry 77"


def _in(language: str, msgid: str) -> str:
    with translation.override(language):
        return gettext(msgid)


def _link(message, path: str) -> str:
    body = parts(message)
    found = re.search(rf"(https?://\S+{re.escape(path)}\?token=[\w%-]+)", body["text/plain"])
    assert found, body["text/plain"]
    assert found.group(1) in body["text/html"]
    return found.group(1)


def test_registering_mails_a_working_verification_link_in_the_users_language(
    celery_worker, smtp_sink, api_client, settings
):
    user = user_create(email="lena@example.com", password="plum orbit lantern 42", name="Лена", language="ru")

    assert wait_until(lambda: smtp_sink.to("lena@example.com")), EmailDelivery.objects.values()
    [message] = smtp_sink.to("lena@example.com")
    # rendered in Russian (the catalogs' wording is theirs: the subject is whatever they say)
    # (a long encoded subject is folded: compare its words)
    assert " ".join(message["Subject"].split()) == _in("ru", "Confirm your email address for TaskFlow")
    assert '<html lang="ru">' in parts(message)["text/html"]
    assert "Лена" in parts(message)["text/plain"]
    link = _link(message, "/verify-email")
    assert link.startswith(settings.PUBLIC_URL + "/verify-email?token=")

    response = api_client.post("/api/auth/verify-email", {"token": link.split("token=", 1)[1]}, format="json")

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.email_verified
    assert EmailDelivery.objects.get(to_email="lena@example.com").kind == "verify_email"


def test_a_reset_mail_reaches_only_an_existing_account_and_its_link_sets_the_password(
    celery_worker, smtp_sink, api_client
):
    UserFactory(email="pablo@example.com", language="es", name="Pablo")

    password_reset_request(email="pablo@example.com", client_address="127.0.0.1")
    password_reset_request(email="nadie@example.com", client_address="127.0.0.1")

    assert wait_until(lambda: smtp_sink.to("pablo@example.com"))
    assert wait_until(deliveries_settled)
    assert smtp_sink.to("nadie@example.com") == []
    [message] = smtp_sink.to("pablo@example.com")
    assert " ".join(message["Subject"].split()) == _in("es", "Reset your TaskFlow password")
    assert '<html lang="es">' in parts(message)["text/html"]
    link = _link(message, "/reset-password")

    response = api_client.post(
        "/api/auth/password-reset/confirm",
        {"token": link.split("token=", 1)[1], "password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 204, response.content
    user = User.objects.get(email="pablo@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(DEFAULT_PASSWORD)
