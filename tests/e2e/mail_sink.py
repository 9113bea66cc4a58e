"""An SMTP server on a loopback port that keeps every message it accepts (aiosmtpd): what the
Celery worker of the end-to-end stack sends mail to. SMTP is spoken for real, nothing is mocked.

For the fault tests it can stall mid-conversation: `hold_next_data()` makes it take the next
message's content and hold back its answer (the client waits inside its send) until `release()`;
a client that goes away meanwhile has its message dropped, as a real server does with a message
it never acknowledged (`dropped` counts them)."""

from __future__ import annotations

import asyncio
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
        self._holds = 0
        self.holding = threading.Event()  # set while an answer is held back
        self._released = threading.Event()
        self.dropped = 0

    def hold_next_data(self, count: int = 1) -> None:
        """The next `count` messages wait for `release()` before they are answered (and kept)."""
        with self._lock:
            self._holds += count
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            hold = self._holds > 0
            self._holds -= hold
        if hold:
            self.holding.set()
            try:
                # aiosmtpd cancels this handler when the client's connection is lost.
                while not self._released.is_set():
                    await asyncio.sleep(0.02)
            except asyncio.CancelledError:
                with self._lock:
                    self.dropped += 1
                raise
            finally:
                self.holding.clear()
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

    def with_header(self, name: str, value: str) -> list[EmailMessage]:
        """The messages kept whose header `name` is `value` (a Message-ID, say)."""
        with self._lock:
            return [message for message in self.messages if str(message[name]).strip() == value]
