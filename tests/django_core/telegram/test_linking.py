"""Linking a chat: the deep link, the token's life (hashed, single use, expiring, revoked by a
new one), relinking, unlinking, and what `/api/users/me` says."""

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from telegram.models import TelegramLinkToken
from tests.django_core.factories import UserFactory

pytestmark = pytest.mark.django_db


def _token_from(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "t.me"
    return parse_qs(parts.query)["start"][0]


def _ask_link(client_for, user) -> str:
    response = client_for(user).post("/api/telegram/link")
    assert response.status_code == 201, response.content
    assert response.json()["expires_in"] <= 900
    return _token_from(response.json()["url"])


def test_a_link_names_the_bot_and_stores_only_the_tokens_hash(client_for, user, bot_registered):
    response = client_for(user).post("/api/telegram/link")

    assert response.status_code == 201
    url = response.json()["url"]
    assert url.startswith(f"https://t.me/{bot_registered}?start=")
    token = _token_from(url)
    row = TelegramLinkToken.objects.get(user=user)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, str(row.pk)}
    assert row.expires_at <= timezone.now() + timedelta(minutes=15)


def test_without_a_bot_asking_for_a_link_is_a_clear_503(client_for, user):
    response = client_for(user).post("/api/telegram/link")

    assert response.status_code == 503
    assert response.json()["code"] == "telegram_unavailable"
    assert not TelegramLinkToken.objects.exists()


def test_the_username_setting_wins_over_the_reported_one(client_for, user, bot_registered, settings):
    settings.TELEGRAM_BOT_USERNAME = "configured_bot"

    response = client_for(user).post("/api/telegram/link")

    assert response.json()["url"].startswith("https://t.me/configured_bot?start=")


def test_start_with_a_valid_token_links_the_chat_and_me_says_so(client_for, bot_client, user, bot_registered):
    token = _ask_link(client_for, user)

    response = bot_client(chat_id=5551).post("/internal/telegram/link", {"token": token}, format="json")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": {"id": user.pk, "name": user.name, "language": "en", "timezone": "UTC"},
        "moved": False,
    }
    user.refresh_from_db()
    assert user.telegram_chat_id == 5551
    assert client_for(user).get("/api/users/me").json()["telegram_linked"] is True


@pytest.mark.parametrize("case", ["used", "expired", "made_up", "revoked"])
def test_a_token_that_links_nothing_gets_its_own_answer(client_for, bot_client, user, bot_registered, case):
    token = _ask_link(client_for, user)
    expected = {
        "used": "token_used",
        "expired": "token_expired",
        "made_up": "token_invalid",
        "revoked": "token_invalid",
    }
    if case == "used":
        assert (
            bot_client(chat_id=61).post("/internal/telegram/link", {"token": token}, format="json").status_code == 200
        )
        user.telegram_chat_id = None
        user.save(update_fields=["telegram_chat_id"])
    elif case == "expired":
        TelegramLinkToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "made_up":
        token = token[::-1] + "x"
    elif case == "revoked":  # a second request revokes the first link
        _ask_link(client_for, user)

    response = bot_client(chat_id=62).post("/internal/telegram/link", {"token": token}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == expected[case]
    user.refresh_from_db()
    assert user.telegram_chat_id is None


def test_relinking_a_chat_to_another_account_moves_it(client_for, bot_client, bot_registered):
    ada, bob = UserFactory(), UserFactory()
    chat = 7001
    bot_client(chat_id=chat).post("/internal/telegram/link", {"token": _ask_link(client_for, ada)}, format="json")

    response = bot_client(chat_id=chat).post(
        "/internal/telegram/link", {"token": _ask_link(client_for, bob)}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["moved"] is True
    ada.refresh_from_db()
    bob.refresh_from_db()
    assert (ada.telegram_chat_id, bob.telegram_chat_id) == (None, chat)


def test_linking_another_chat_replaces_the_accounts_chat(client_for, bot_client, user, bot_registered):
    bot_client(chat_id=801).post("/internal/telegram/link", {"token": _ask_link(client_for, user)}, format="json")
    bot_client(chat_id=802).post("/internal/telegram/link", {"token": _ask_link(client_for, user)}, format="json")

    user.refresh_from_db()
    assert user.telegram_chat_id == 802
    assert bot_client(chat_id=801).get("/internal/telegram/chat").json()["code"] == "not_linked"


def test_a_deactivated_account_cannot_be_linked(client_for, bot_client, user, bot_registered):
    token = _ask_link(client_for, user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = bot_client(chat_id=901).post("/internal/telegram/link", {"token": token}, format="json")

    assert response.json()["code"] == "token_invalid"


def test_unlinking_through_the_api_and_through_the_bot(client_for, bot_client, user, linked):
    chat = linked(user)
    assert client_for(user).delete("/api/telegram/link").status_code == 204
    user.refresh_from_db()
    assert user.telegram_chat_id is None

    chat = linked(user)
    assert bot_client(chat_id=chat).delete("/internal/telegram/chat").status_code == 204
    user.refresh_from_db()
    assert user.telegram_chat_id is None
    assert bot_client(chat_id=chat).delete("/internal/telegram/chat").json()["code"] == "not_linked"


def test_the_link_endpoints_need_a_signed_in_user(api_client):
    assert api_client.post("/api/telegram/link").status_code == 401
    assert api_client.delete("/api/telegram/link").status_code == 401
