"""The end-to-end suite's stack: one per session, started before the first test.

Database: `<DATABASE_TEST_NAME or test_taskflow>_e2e`, created, migrated and dropped here.
Redis: database REDIS_TEST_DB (default 10), emptied first; never database 0. User ids start at
900,000,000 + that index x 1,000,000 so this suite's `user:{id}` channels (shared by every Redis
database) never meet another suite's. `make test-e2e` runs it in one process (-p no:xdist).
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.mail_sink import MailSink
from tests.e2e.stack import KEY_DIR, REPO_DIR, Stack, free_port, running_stack
from tests.telegram_bot.botapi import FakeBotApi
from tests.telegram_bot.support import compile_catalogs


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink(free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeBotApi]:
    """Telegram's side of the stack's bot: a local server speaking the Bot API."""
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, mail_sink: MailSink, bot_api: FakeBotApi) -> Iterator[Stack]:
    assert not os.environ.get("PYTEST_XDIST_WORKER"), "the end-to-end suite starts servers: run it in one process"
    compile_catalogs()
    if not (KEY_DIR / "jwt_private.pem").is_file():
        subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "jwt_keys.py")], check=True)
    redis_index = int(os.environ.get("REDIS_TEST_DB") or 10)
    assert redis_index != 0, "the end-to-end suite never uses Redis database 0"
    base_database = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow")
    name = f"{os.environ.get('DATABASE_TEST_NAME') or 'test_taskflow'}_e2e"
    redis_netloc = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").netloc
    with running_stack(
        tmp_path_factory.mktemp("e2e-stack"),
        database_url=base_database._replace(path=f"/{name}").geturl(),
        redis_url=f"redis://{redis_netloc}/{redis_index}",
        user_id_start=900_000_000 + redis_index * 1_000_000,
        extra_env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(mail_sink.port), "EMAIL_TIMEOUT": "5"},
        bot_api_base=bot_api.base_url,
    ) as started:
        yield started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A failing end-to-end test shows the tail of every process's log: the stack's state is
    what explains it."""
    report = yield
    started = getattr(item, "funcargs", {}).get("stack")
    if report.failed and isinstance(started, Stack):
        report.sections.append(("stack logs", started.logs()))
    return report


# --- The browser (the web client tests): the system Chromium, never a downloaded one ---------

WAIT_MS = 10_000


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail("Chromium is not installed: `make test` installs it (scripts/ensure_tools.sh chromium)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


def open_context(browser: Browser, **options: object) -> Iterator[Page]:
    """A page in a browser context of its own (its own storage: another person); a JavaScript
    error in it fails the test."""
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    yield from open_context(browser)
