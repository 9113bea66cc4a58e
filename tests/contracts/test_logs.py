"""The one log schema (taskflow_contracts.logs): fields, formats, context, and redaction of every
kind of secret the services handle."""

import json
import logging

import pytest
from taskflow_contracts.logs import ConsoleFormatter, JsonFormatter, log_context, logging_config, redact
from taskflow_contracts.redis_layout import split_request_id


def record(message: str, *args: object, name: str = "tests.logs") -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (
            '127.0.0.1:5000 - "WebSocket /ws/notifications?ticket=eyJhbGciOi.abc.def&cursor=1-0" [accepted]',
            "eyJhbGciOi",
        ),
        ("GET /invite/accept?token=s3cr3t-t0ken HTTP/1.1", "s3cr3t-t0ken"),
        ("Authorization: Bearer eyJ0eXAiOiJKV1QifQ.payload.sig", "eyJ0eXAi"),
        ("POST https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage", "AAHdqTcv"),
        ("password=hunter22 for ada", "hunter22"),
        ('{"refresh": "rrr.refresh.token", "other": 1}', "rrr.refresh"),
        ("deep link https://t.me/taskflow_bot?start=link-token-123", "link-token-123"),
    ],
)
def test_redact_masks_each_kind_of_secret(line: str, secret: str) -> None:
    masked = redact(line)
    assert secret not in masked
    assert "[redacted]" in masked


def test_redact_leaves_ordinary_lines_alone() -> None:
    line = "sent task.assigned to bob@example.com (733b99b3-d62d-4a2e-9a8e-1f2c3d4e5f60)"
    assert redact(line) == line


def test_json_line_carries_the_schema_and_the_context() -> None:
    formatter = JsonFormatter(service="worker")
    with log_context(request_id="req-1", user_id=7, event_id="ev-1"):
        line = json.loads(formatter.format(record("mailed %s", "ada", name="mailing.services")))
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "service": "worker",
        "logger": "mailing.services",
        "message": "mailed ada",
        "request_id": "req-1",
        "user_id": 7,
        "event_id": "ev-1",
    }
    assert line["time"].endswith("Z")
    # outside the block the context is gone
    assert "request_id" not in json.loads(formatter.format(record("later")))


def test_console_line_has_the_same_fields_readably() -> None:
    with log_context(request_id="req-2"):
        line = ConsoleFormatter(service="django").format(record("GET /api/tasks 200 ?token=abc"))
    assert " INFO    django tests.logs [request_id=req-2] GET /api/tasks 200 ?token=[redacted]" in line


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise ValueError("bad ticket=eyJabc.def.ghi")
    except ValueError:
        import sys

        entry = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonFormatter(service="bot").format(entry))
    assert "eyJabc" not in line["exc"]
    assert "ValueError" in line["exc"]


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(service="x", log_format="xml")


def test_split_request_id_of_live_frames() -> None:
    assert split_request_id('{"type":"event"}') == ("", '{"type":"event"}')
    assert split_request_id('req-9\x1f{"type":"event"}') == ("req-9", '{"type":"event"}')
