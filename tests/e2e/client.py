"""A client of TaskFlow as an app would be one: JSON over HTTP and a WebSocket, all through one
gateway origin."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.mail_sink import MailSink

TIMEOUT = 10.0
PASSWORD = "e2e-Secret-pass-1"


@dataclass
class Person:
    """A registered, logged-in user of one gateway."""

    base_url: str
    email: str
    name: str
    id: int = 0
    access: str = ""
    refresh: str = ""
    session: requests.Session = field(default_factory=requests.Session)

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        if self.access:
            headers.setdefault("Authorization", f"Bearer {self.access}")
        return self.session.request(method, f"{self.base_url}{path}", json=body, headers=headers, timeout=TIMEOUT)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.request(method, path, body)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None


def sign_up(base_url: str, label: str) -> Person:
    """Registers and logs in a new person with a unique address."""
    person = Person(base_url, f"{label}-{uuid.uuid4().hex[:10]}@example.com", label.capitalize())
    created = person.ok(
        "POST", "/api/auth/register", {"email": person.email, "password": PASSWORD, "name": person.name}, status=201
    )
    person.id = created["id"]
    tokens = person.ok("POST", "/api/auth/login", {"email": person.email, "password": PASSWORD})
    person.access, person.refresh = tokens["access"], tokens["refresh"]
    return person


VERIFY_LINK = re.compile(r"/verify-email\?token=([\w.~%-]+)")


def verify_email(person: Person, mail_sink: MailSink) -> None:
    """Verifies the person's address with the token of their verification mail (invites are
    listed and answered by id only for verified addresses)."""
    mail = mail_sink.wait_for(person.email, "Confirm your email address")
    found = VERIFY_LINK.search(mail.get_body(("plain",)).get_content())
    assert found, "no verification link in the mail"
    person.ok("POST", "/api/auth/verify-email", {"token": found.group(1)})


class Socket:
    """The live-notification socket of one person, opened through the gateway like a browser
    (with the gateway's Origin)."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.hello = self.recv()
        assert self.hello["type"] == "hello", self.hello
        self.cursor = self.hello["cursor"]

    @classmethod
    def open(cls, person: Person, ws_base: str, cursor: str | None = None) -> Socket:
        ticket = person.ok("POST", "/api/realtime/ticket", status=201)["ticket"]
        query = f"ticket={ticket}" + (f"&cursor={cursor}" if cursor else "")
        connection = connect(
            f"{ws_base}/ws/notifications?{query}",
            origin=person.base_url,  # type: ignore[arg-type]
            open_timeout=TIMEOUT,
            close_timeout=2,
            legacy=True,  # the connection itself, closed by close()
        )
        return cls(connection)

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(self.connection.recv(timeout=timeout))

    def next_event(self, event_type: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next `event` frame of this type (others, e.g. task.created first, are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if frame["type"] == "event":
                self.cursor = frame["cursor"]
                if frame["event"]["type"] == event_type:
                    return frame

    def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Reads until the server closes the socket; the close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.connection.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            pass
        raise AssertionError(f"the socket was still open after {timeout} s")

    def close(self) -> None:
        self.connection.close()
