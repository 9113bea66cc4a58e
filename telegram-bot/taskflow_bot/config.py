"""Settings, from the environment only (and `.env` at the repository root when present, the
same file django-core reads; values already in the environment win).

The variables are the ones docs/telegram.md lists under "Running it". Production (`ENV` or
`DJANGO_ENV` = `production`) refuses to start on the placeholder service token or on one shorter
than 32 characters: that token is all that guards django-core's internal API.
"""

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from taskflow_contracts import TOPOLOGY_VARIABLES, RedisTopology

REPO_DIR = Path(__file__).resolve().parents[2]
PLACEHOLDER_SERVICE_TOKEN = "dev-insecure-telegram-token-change-me"  # noqa: S105 (refused in production)
MIN_PRODUCTION_TOKEN_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The bot cannot start with this configuration."""


def default_consumer_name() -> str:
    """Unique per process, stable for its lifetime: the consumer's pending entries are its own."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_DIR / ".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    env: str = Field(default="development", validation_alias=AliasChoices("ENV", "DJANGO_ENV"))

    # Empty means "the bot is off": `python -m taskflow_bot` then exits 2 with a clear message.
    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"

    # Shared with django-core (header X-Service-Token on every internal API call).
    telegram_service_token: str = PLACEHOLDER_SERVICE_TOKEN
    django_internal_url: str = "http://127.0.0.1:8000"
    # Seconds one internal API call may take before django-core counts as unavailable.
    core_timeout: float = Field(default=5.0, gt=0, validation_alias=AliasChoices("BOT_CORE_TIMEOUT"))

    # Where the bot's stream and its conversation state live (docs/scaling.md, "Redis"; the same
    # variables django-core and the relay read): a single node, Sentinel's primary or a Cluster.
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: str = ""
    redis_sentinel_master: str = ""
    redis_sentinel_password: str = ""
    redis_cluster_url: str = ""
    telegram_stream: str = "telegram:deliveries"
    telegram_consumer_name: str = Field(default_factory=default_consumer_name)

    # Pacing: messages per second to one chat, and overall.
    telegram_rate_per_chat: float = Field(default=1.0, gt=0)
    telegram_rate_global: float = Field(default=25.0, gt=0)
    # False turns per-chat spacing off (a local Bot API server, load tests); the global rate stays.
    telegram_pacing: bool = True
    telegram_max_attempts: int = Field(default=5, ge=1)
    # Entries another consumer read but did not acknowledge for this long are taken over.
    telegram_claim_idle: float = Field(default=30.0, gt=0)
    # First delay before retrying a failed send; it doubles with each attempt.
    telegram_retry_backoff: float = Field(default=1.0, gt=0)

    # GET /health; port 0 turns it off.
    bot_health_host: str = "127.0.0.1"
    bot_health_port: int = Field(default=8002, ge=0, le=65535)
    # A loop failing for longer than this makes /health answer 503.
    bot_health_grace: float = Field(default=30.0, gt=0)

    # The bot's catalogs (locales/<lang>/LC_MESSAGES/bot.mo). It speaks English (the source
    # language) and each language it has a catalog for that django-core's LANGUAGES lists.
    bot_locales_dir: Path = REPO_DIR / "locales"

    log_level: str = "INFO"
    # json: one JSON object per line; console: the same fields readably (docs/operations.md).
    log_format: Literal["json", "console"] = "console"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def topology(self) -> RedisTopology:
        """Cluster when REDIS_CLUSTER_URL is set, else Sentinel when REDIS_SENTINELS is, else the
        single node of REDIS_URL."""
        return RedisTopology.from_env({name: getattr(self, name.lower()) for name in TOPOLOGY_VARIABLES})

    @property
    def per_chat_interval(self) -> float:
        """Seconds between two sends to one chat (0 when per-chat pacing is off)."""
        return 1.0 / self.telegram_rate_per_chat if self.telegram_pacing else 0.0

    @field_validator("bot_locales_dir", mode="after")
    @classmethod
    def _relative_to_repo(cls, value: Path) -> Path:
        return value if value.is_absolute() else REPO_DIR / value

    @field_validator("log_level", mode="after")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {value!r}")
        return level

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env not in {"development", "test", "production"}:
            raise ValueError(f"ENV/DJANGO_ENV must be development, test or production, not {self.env!r}")
        _ = self.topology  # REDIS_SENTINELS without a master name, or not host:port: refused now
        if self.is_production:
            token = self.telegram_service_token
            if token == PLACEHOLDER_SERVICE_TOKEN or len(token) < MIN_PRODUCTION_TOKEN_LENGTH:
                raise ValueError(
                    "TELEGRAM_SERVICE_TOKEN is a placeholder or shorter than 32 characters; set a long "
                    "random value shared with django-core (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(40))'`)."
                )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
