"""Test support for the Telegram bot: the real bot process (`python -m taskflow_bot` from
telegram-bot/), pointed at a fake Bot API (`botapi.FakeBotApi`), a django-core (live, or a
closed port to play "down"), and real Redis.

    api = FakeBotApi().start()
    bot = start_bot(core_url=..., service_token=..., redis_url=..., api_base=api.base_url)
    ...
    bot.stop()          # SIGTERM, returns the exit code
    bot.kill()          # SIGKILL (crash tests: its stream entries stay pending)
    bot.log_tail()      # the end of its log, for assertion messages

Each bot gets its own consumer name and a log file; TELEGRAM_CLAIM_IDLE is short (2 s) so a
killed bot's entries are taken over quickly. `extra_env` overrides anything.
"""

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.telegram_bot.botapi import TEST_BOT_TOKEN, free_port

REPO_DIR = Path(__file__).resolve().parents[2]
BOT_DIR = REPO_DIR / "telegram-bot"
LOCALES_DIR = REPO_DIR / "locales"
# An upper bound only: importing aiogram alone takes over 10 s on a busy 2-core machine (its
# types module builds hundreds of pydantic models), and a bot given up on is started again.
START_TIMEOUT = 60.0

_names = itertools.count(1)


def compile_catalogs() -> None:
    """Compiles locales/*/LC_MESSAGES/bot.po when its .mo is missing or older (the .mo files are
    build output, not in git; `make` compiles them for development)."""
    for po in LOCALES_DIR.glob("*/LC_MESSAGES/bot.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True)


def bot_env(
    *, core_url: str, service_token: str, redis_url: str, api_base: str, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    # Nothing of the developer's bot configuration leaks in (the process also reads .env, where
    # the environment wins: every variable that matters is set here).
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "BOT_", "DJANGO_INTERNAL_URL", "REDIS_", "LOG_LEVEL"))
    }
    env.update(
        ENV="test",
        DJANGO_ENV="test",
        TELEGRAM_BOT_TOKEN=TEST_BOT_TOKEN,
        TELEGRAM_API_URL=api_base,
        TELEGRAM_SERVICE_TOKEN=service_token,
        DJANGO_INTERNAL_URL=core_url,
        REDIS_URL=redis_url,
        TELEGRAM_STREAM="telegram:deliveries",
        TELEGRAM_CLAIM_IDLE="2",
        TELEGRAM_RETRY_BACKOFF="0.2",
        BOT_HEALTH_HOST="127.0.0.1",
        BOT_HEALTH_GRACE="3",
        BOT_CORE_TIMEOUT="3",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    return env


@dataclass
class BotProcess:
    env: dict[str, str]
    log_path: Path
    name: str = ""
    process: subprocess.Popen[bytes] | None = None
    health_port: int = 0
    http: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.http.trust_env = False  # never through a proxy

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/health"

    def start(self, timeout: float = START_TIMEOUT) -> "BotProcess":
        for _ in range(3):
            self.health_port = int(self.env.get("BOT_HEALTH_PORT") or 0) or free_port()
            env = {**self.env, "BOT_HEALTH_PORT": str(self.health_port)}
            env.setdefault("TELEGRAM_CONSUMER_NAME", self.name)
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "taskflow_bot"], cwd=BOT_DIR, env=env, stdout=log, stderr=log
                )
            if self._wait_healthy(timeout):
                return self
            self.kill()
            if "BOT_HEALTH_PORT" in self.env:
                break  # a fixed port: trying again would not help
        raise AssertionError(f"bot {self.name} did not start:\n{self.log_tail()}")

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(requests.RequestException):
                if self.http.get(self.health_url, timeout=1).status_code == 200:
                    return True
            time.sleep(0.05)
        return False

    def health(self) -> requests.Response:
        return self.http.get(self.health_url, timeout=5)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; the exit code (None if it was never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
                raise AssertionError(f"bot {self.name} ignored SIGTERM:\n{self.log_tail()}") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]


def start_bot(
    *,
    core_url: str,
    service_token: str,
    redis_url: str,
    api_base: str,
    extra_env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> BotProcess:
    """Starts a bot process and waits until its /health answers 200."""
    compile_catalogs()
    name = f"test-bot-{next(_names)}-{uuid.uuid4().hex[:6]}"
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="taskflow-bot-"))
    env = bot_env(
        core_url=core_url, service_token=service_token, redis_url=redis_url, api_base=api_base, extra_env=extra_env
    )
    return BotProcess(env=env, log_path=log_dir / f"{name}.log", name=name).start()


@contextlib.contextmanager
def bots_started(log_dir: Path, **defaults: Any) -> Iterator[Callable[..., BotProcess]]:
    """`start(**overrides)` starts a bot with `start_bot(**defaults, **overrides)` (their
    `extra_env` merged); every bot started is SIGKILLed at the end."""
    started: list[BotProcess] = []

    def start(**overrides: Any) -> BotProcess:
        extra_env = {**defaults.get("extra_env", {}), **overrides.pop("extra_env", {})}
        bot = start_bot(**{**defaults, **overrides, "extra_env": extra_env, "log_dir": log_dir})
        started.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in started:
            bot.kill()
