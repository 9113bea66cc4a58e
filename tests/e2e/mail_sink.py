"""An SMTP server on a loopback port that keeps every message it accepts (aiosmtpd): what the
Celery worker of the end-to-end stack sends mail to. SMTP is spoken for real, nothing is mocked."""

from __future__ import annotations

import email
import threading
import time
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller


class MailSink:
    def __init__(self, port: int) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.port = port

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, recipient: str, subject_part: str, timeout: float = 30.0) -> EmailMessage:
        """The first message to `recipient` whose subject contains `subject_part`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for message in self.messages:
                    if recipient in message["X-Envelope-To"] and subject_part in str(message["Subject"]):
                        return message
                seen = [(m["X-Envelope-To"], str(m["Subject"])) for m in self.messages]
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail to {recipient} about {subject_part!r} within {timeout} s; got {seen}")
            time.sleep(0.1)
