"""Fixtures of the Telegram bot suite: the fake Bot API server, real Redis on a dedicated
database, real bot processes. No Django database is touched.

Redis: database BOT_REDIS_TEST_DB (default 14), never database 0; each test that starts a bot
gets its own stream name, so bot processes of different tests never share entries.
"""

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.engines.fixtures import redis_cluster, redis_sentinel  # noqa: F401 (real engines, started on demand)
from tests.telegram_bot.botapi import FakeBotApi
from tests.telegram_bot.support import BOT_DIR, BotProcess, bots_started, compile_catalogs

# Unit tests import the bot's modules directly (the service itself runs from its own folder).
if str(BOT_DIR) not in sys.path:
    sys.path.insert(0, str(BOT_DIR))

SERVICE_TOKEN = "test-telegram-service-token-0123456789"


@pytest.fixture(scope="session", autouse=True)
def catalogs() -> None:
    compile_catalogs()


@pytest.fixture(scope="session")
def redis_url() -> str:
    index = int(os.environ.get("BOT_REDIS_TEST_DB") or 14)
    assert index != 0, "the bot tests never use Redis database 0"
    netloc = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").netloc
    return f"redis://{netloc}/{index}"


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def stream(redis_client: redis.Redis) -> Iterator[str]:
    name = f"telegram:test:{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(name)


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A django-core that is down: nothing listens there."""
    from tests.telegram_bot.botapi import free_port

    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_bot(bot_api: FakeBotApi, redis_url: str, stream: str, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Starts bot processes on the fake Bot API; all are stopped at the end of the test."""
    common = {"service_token": SERVICE_TOKEN, "redis_url": redis_url, "api_base": bot_api.base_url}
    with bots_started(tmp_path, **common, extra_env={"TELEGRAM_STREAM": stream}) as start:

        def make(*, core_url: str, **env: str) -> BotProcess:
            return start(core_url=core_url, extra_env=env)

        yield make
