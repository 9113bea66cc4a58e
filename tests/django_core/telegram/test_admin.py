"""Staff see every Telegram delivery and what became of it, and put parked ones back on the
stream with an action (through the service); tokens show no hash and nothing is editable."""

import pytest
from django.conf import settings
from django.utils import timezone

from common.redis import redis_client
from telegram.models import DeliveryStatus, TelegramDelivery, TelegramLinkToken
from tests.django_core.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def parked(user):
    return TelegramDelivery.objects.create(
        event_type="task.assigned",
        envelope={"data": {}},
        user=user,
        chat_id=4242,
        status=DeliveryStatus.FAILED,
        attempts=5,
        last_error="Bad Gateway from Telegram",
        queued_at=timezone.now(),
    )


@pytest.mark.parametrize("query", ["", "?status__exact=failed", f"?q={4242}"])
def test_the_delivery_log_lists_parked_deliveries_with_their_error(admin_client, parked, query):
    response = admin_client.get(f"/admin/telegram/telegramdelivery/{query}")

    assert response.status_code == 200
    assert b"Bad Gateway from Telegram" in response.content


def test_the_retry_action_puts_a_parked_delivery_back_on_the_stream(admin_client, parked):
    redis_client().delete(settings.TELEGRAM_STREAM)

    response = admin_client.post(
        "/admin/telegram/telegramdelivery/", {"action": "retry", "_selected_action": [parked.pk]}, follow=True
    )

    assert response.status_code == 200
    parked.refresh_from_db()
    assert (parked.status, parked.attempts) == (DeliveryStatus.QUEUED, 0)
    entries = redis_client().xrange(settings.TELEGRAM_STREAM)
    assert [fields[b"d"] for _id, fields in entries] == [str(parked.pk).encode()]


def test_deliveries_and_tokens_are_read_only_and_tokens_show_no_hash(admin_client, parked):
    token = TelegramLinkToken.objects.create(user=UserFactory(), token_hash="f" * 64, expires_at=timezone.now())

    assert admin_client.get("/admin/telegram/telegramdelivery/add/").status_code == 403
    page = admin_client.get(f"/admin/telegram/telegramlinktoken/{token.pk}/change/")
    assert page.status_code == 200
    assert b"f" * 64 not in page.content
    assert admin_client.post(f"/admin/telegram/telegramdelivery/{parked.pk}/change/", {}).status_code == 403
