"""A real Celery worker (Celery's in-process worker, consuming from the real Redis broker in this
test process's private database) and real SMTP servers on loopback ports (aiosmtpd): one that
accepts, refuses on demand, or stalls. Nothing of Celery, Redis or SMTP is mocked."""

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from mailing.models import EmailDelivery
from notifications import publisher

from config.celery import app as celery_app
from tests.django_core.notifications_faults.conftest import child_env  # noqa: F401 (a fixture used here too)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpSink:
    """What the SMTP server received, and how it should answer the next RCPT commands."""

    messages: list[EmailMessage] = field(default_factory=list)
    # Each RCPT answers this (then the list moves on); empty: accept.
    rcpt_answers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        with self.lock:
            answer = self.rcpt_answers.pop(0) if self.rcpt_answers else "250 OK"
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_sink(settings: Any) -> Iterator[SmtpSink]:
    """An SMTP server on a free loopback port, and Django's SMTP backend pointed at it."""
    sink = SmtpSink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_TIMEOUT = 10
    # Retries come quickly in tests (the backoff shape is the same).
    settings.EMAIL_RETRY_BACKOFF = 0.2
    settings.EMAIL_RETRY_BACKOFF_MAX = 0.5
    try:
        yield sink
    finally:
        controller.stop()


class StalledSmtpServer:
    """Accepts TCP connections and never says a word (a hung mail server). Closing it drops the
    connections it holds, which frees any client stuck on them."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def stalled_smtp(settings: Any) -> Iterator[StalledSmtpServer]:
    server = StalledSmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_TIMEOUT = 30
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def celery_worker(transactional_db: None) -> Iterator[Any]:
    """A real Celery worker consuming this process's private Redis database (see the root
    conftest), running the tasks in its own thread with its own database connection."""
    publisher.fast_path_resume()
    celery_app.control.purge()  # messages left by other tests' relays
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30) as w:
        yield w


def deliveries_settled() -> bool:
    """No email delivery waits any more (none pending, sending or retrying)."""
    return not EmailDelivery.objects.filter(status__in=["pending", "sending", "retrying"]).exists()


def parts(message: EmailMessage) -> dict[str, str]:
    """The text/plain and text/html parts of a message."""
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_content()
    return found
