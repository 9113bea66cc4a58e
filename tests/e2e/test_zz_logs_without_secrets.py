"""No secret in any log line of the whole end-to-end run (named to run after every other module
of the suite, over the logs they all produced): every process's output (gunicorn, the outbox
relay, the worker, both relays, the bot, nginx) and the gateways' access logs. Secrets: JWTs
(access and refresh tokens, WebSocket tickets), the suite's password, query tickets and tokens,
Authorization headers, the bot's token (Bot API URLs) and the service token."""

import re
from pathlib import Path

import pytest

from tests.e2e.client import PASSWORD, Person, Socket, sign_up
from tests.e2e.stack import SERVICE_TOKEN, Stack
from tests.telegram_bot.botapi import TEST_BOT_TOKEN

pytestmark = pytest.mark.e2e

LEAKS = [
    ("a JWT", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a query ticket or token", re.compile(r"[?&](ticket|token|start)=(?!\[redacted\])[^\s&\"]")),
    ("an Authorization credential", re.compile(r"Bearer (?!\[redacted\])\S")),
    ("the password", re.compile(re.escape(PASSWORD))),
    ("the bot token", re.compile(re.escape(TEST_BOT_TOKEN.split(":", 1)[1]))),
    ("the service token", re.compile(re.escape(SERVICE_TOKEN))),
]


def _logs(stack: Stack) -> list[Path]:
    paths = [process.log_path for process in stack.processes]
    paths += [gateway.access_log for gateway in stack.gateways.values()]
    return [path for path in paths if path.is_file()]


def test_no_secret_in_any_log_line(stack: Stack) -> None:
    # Given a run that handled every kind of secret (here again, in case this module runs alone):
    # a password, tokens, an Authorization header and a ticket in a WebSocket URL
    person: Person = sign_up(stack.gateways["single"].url, "secretive")
    Socket.open(person, stack.gateways["single"].ws_url).close()
    person.ok("POST", "/api/auth/logout", {"refresh": person.refresh}, status=204)
    logs = _logs(stack)
    assert {path.name for path in logs} >= {"django.log", "outbox.log", "worker.log", "realtime-a.log"}

    # Then no line of any log carries one
    found = []
    for path in logs:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for what, pattern in LEAKS:
                if pattern.search(line):
                    found.append(f"{path.name}:{number}: {what}: {line[:300]}")
    assert not found, "secrets in the logs:\n" + "\n".join(found[:20])
    # And the relay's log covers the socket (uvicorn's line for it; the relay drops uvicorn's
    # per-handshake "accepted" line, which quoted the URL with its ticket, before it is
    # formatted): the check read the lines written while a ticket was in play
    assert '"connection open"' in (stack.work_dir / "realtime-a.log").read_text()
