from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from telegram.models import TelegramBot

SERVICE_TOKEN = settings.TELEGRAM_SERVICE_TOKEN


@pytest.fixture
def bot_registered(db: None) -> str:
    TelegramBot.objects.update_or_create(pk=1, defaults={"username": "taskflow_test_bot"})
    return "taskflow_test_bot"


@pytest.fixture
def bot_client() -> Callable[..., APIClient]:
    """An internal-API client as the bot: the service token and, when given, the chat id."""

    def make(chat_id: int | None = None, token: str = SERVICE_TOKEN) -> APIClient:
        client = APIClient()
        headers: dict[str, Any] = {"HTTP_X_SERVICE_TOKEN": token}
        if chat_id is not None:
            headers["HTTP_X_TELEGRAM_CHAT_ID"] = str(chat_id)
        client.credentials(**headers)
        return client

    return make


_chat_ids = iter(range(7_000_000_001, 7_999_999_999))


@pytest.fixture
def linked() -> Callable[[User], int]:
    """Links a user to a fresh chat id; returns it."""

    def link(user: User) -> int:
        user.telegram_chat_id = next(_chat_ids)
        user.save(update_fields=["telegram_chat_id"])
        return user.telegram_chat_id

    return link


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test that ran the bot shows the end of the bot's log: it is what explains it."""
    report = yield
    bot = getattr(item, "funcargs", {}).get("bot")
    if report.failed and hasattr(bot, "log_tail"):
        report.sections.append(("bot log", bot.log_tail(6000)))
    return report
