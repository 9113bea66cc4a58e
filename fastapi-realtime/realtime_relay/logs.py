"""The relay's logs in the one schema of taskflow_contracts.logs (LOG_FORMAT json | console),
and the request ids of live frames.

uvicorn configures its loggers before it imports the app; `relay_logging()` (called by the app
factory) routes them through the same handler. Its "WebSocket /ws/notifications?ticket=...
[accepted]" lines quote the ticket: the formatter's redaction masks it, whatever logger wrote it.

A frame django-core publishes for a request starts with that request's id and a separator
(taskflow_contracts.redis_layout.split_request_id); `traced(deliver)` strips it before the hub
sees the frame, so sockets get the frame as the protocol says. With LOG_DELIVERIES on, each
such frame also gets a log line carrying the request id (one line per frame: off by default,
the relay's hot path; docs/operations.md "Following a request").
"""

import logging
from collections.abc import Callable

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from taskflow_contracts.logs import configure_logging, log_context
from taskflow_contracts.redis_layout import split_request_id

from realtime_relay.config import REPO_DIR

deliveries_logger = logging.getLogger("realtime_relay.deliveries")


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=REPO_DIR / ".env", env_file_encoding="utf-8", extra="ignore")

    env: str = Field(default="development", validation_alias="DJANGO_ENV")
    log_format: str = ""
    log_level: str = "INFO"
    log_deliveries: bool = False


def relay_logging(settings: LogSettings | None = None) -> LogSettings:
    settings = settings or LogSettings()
    log_format = settings.log_format or ("json" if settings.env == "production" else "console")
    level = settings.log_level.upper()
    configure_logging(
        service="realtime",
        log_format=log_format,
        level=level,
        loggers={
            # uvicorn's own handlers go; its lines go through the root's (redacted, one schema).
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            "realtime_relay.deliveries": {"level": "INFO" if settings.log_deliveries else "WARNING"},
        },
    )
    return settings


def traced(deliver: Callable[[int, str], None]) -> Callable[[int, str], None]:
    """`deliver(user_id, frame)` for frames that may carry a request id first."""

    def deliver_traced(user_id: int, data: str) -> None:
        if data[:1] == "{":
            deliver(user_id, data)
            return
        request_id, frame = split_request_id(data)
        if deliveries_logger.isEnabledFor(logging.INFO):
            with log_context(request_id=request_id or None, user_id=user_id):
                deliveries_logger.info("event frame for user %d", user_id)
        deliver(user_id, frame)

    return deliver_traced
