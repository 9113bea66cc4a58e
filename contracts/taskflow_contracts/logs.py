"""One log schema for every TaskFlow process (docs/operations.md "Logs").

Each line carries `time`, `level`, `service`, `logger`, `message` and, where known,
`request_id`, `user_id` and `event_id` (plus `exc` for a traceback). LOG_FORMAT=json writes one
JSON object per line (for a collector); LOG_FORMAT=console writes the same fields readably (for
`make run`). The context fields come from context variables set by whoever handles a request, a
task, a stream entry or a socket (`log_context`), so no call site passes them.

Secrets never reach a line: `redact` masks `ticket=`, `token=`, `password`, `secret`,
`Authorization: Bearer ...` and Telegram bot tokens (`bot<id>:<secret>` in Bot API URLs) in the
rendered message and traceback, whichever library wrote them (uvicorn's "accepted" line quotes
the WebSocket URL with its `?ticket=`).
"""

import contextlib
import contextvars
import json
import logging
import logging.config
import re
import time
from collections.abc import Iterator
from typing import Any

LOG_FORMATS = ("json", "console")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id_var: contextvars.ContextVar[int | None] = contextvars.ContextVar("user_id", default=None)
event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)

_CONTEXT: tuple[tuple[str, contextvars.ContextVar[Any]], ...] = (
    ("request_id", request_id_var),
    ("user_id", user_id_var),
    ("event_id", event_id_var),
)

# What a request id may look like (the gateway's own check, gateway/nginx.conf.template): anything
# else a client sends is replaced, so a log line never carries an injected value.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_request_id(value: object) -> str | None:
    return value if isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) else None


@contextlib.contextmanager
def log_context(
    *, request_id: str | None = None, user_id: int | None = None, event_id: str | None = None
) -> Iterator[None]:
    """Sets the given fields for every line logged inside the block (others keep their value)."""
    tokens: list[contextvars.Token[Any]] = []
    values: dict[str, Any] = {"request_id": request_id, "user_id": user_id, "event_id": event_id}
    for name, var in _CONTEXT:
        if values[name] is not None:
            tokens.append(var.set(values[name]))
    try:
        yield
    finally:
        for token in reversed(tokens):
            token.var.reset(token)


_SECRETS = re.compile(
    r"(?P<key>\b(?:ticket|token|access|refresh|password|passwd|secret|api_key|start)\b[\"']?\s*[=:]\s*[\"']?)"
    r"(?P<value>[^\s&\"',;}]+)"
    r"|(?P<auth>\b(?:Bearer|Basic)\s+)(?P<cred>[A-Za-z0-9._~+/=-]+)"
    r"|(?P<bot>/bot)(?P<bot_token>\d+:[A-Za-z0-9_-]+)",
    re.IGNORECASE,
)


def _mask(match: re.Match[str]) -> str:
    if match.group("key"):
        return match.group("key") + "[redacted]"
    if match.group("auth"):
        return match.group("auth") + "[redacted]"
    return match.group("bot") + "[redacted]"


def redact(text: str) -> str:
    """`text` with every credential-looking value masked."""
    return _SECRETS.sub(_mask, text)


def _fields(record: logging.LogRecord, service: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
        "level": record.levelname,
        "service": service,
        "logger": record.name,
        "message": redact(record.getMessage()),
    }
    for name, var in _CONTEXT:
        value = getattr(record, name, None)
        if value is None:
            value = var.get()
        if value is not None:
            fields[name] = value
    if record.exc_info:
        fields["exc"] = redact(logging.Formatter().formatException(record.exc_info))
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self.service), ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """The same fields for a person: `time level service logger [request_id user_id event_id] message`."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record, self.service)
        context = " ".join(f"{name}={fields[name]}" for name, _var in _CONTEXT if name in fields)
        line = f"{fields['time']} {fields['level']:<7} {self.service} {fields['logger']}"
        line += f" [{context}] {fields['message']}" if context else f" {fields['message']}"
        return line + ("\n" + fields["exc"] if "exc" in fields else "")


def logging_config(
    *, service: str, log_format: str, level: str = "INFO", loggers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A logging.config.dictConfig dict: every record, whichever library's, through one handler
    on stderr in `log_format`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    formatter = JsonFormatter if log_format == "json" else ConsoleFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"taskflow": {"()": formatter, "service": service}},
        "handlers": {"taskflow": {"class": "logging.StreamHandler", "formatter": "taskflow"}},
        "root": {"handlers": ["taskflow"], "level": level},
        "loggers": loggers or {},
    }


def configure_logging(
    *, service: str, log_format: str, level: str = "INFO", loggers: dict[str, Any] | None = None
) -> None:
    """Applies logging_config(...); libraries that set up handlers of their own (uvicorn,
    gunicorn, celery) are routed to the root's handler instead."""
    logging.config.dictConfig(logging_config(service=service, log_format=log_format, level=level, loggers=loggers))
