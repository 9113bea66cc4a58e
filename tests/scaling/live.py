"""A client's live view, as a real one keeps it: a socket read in the background that, when it
closes, is opened again with the last cursor (replay), and that counts `resync` frames (after
one, the client refetches over REST)."""

from __future__ import annotations

import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.client import Person, Socket

RECONNECT_PAUSE = 0.2


class LiveView(threading.Thread):
    def __init__(self, person: Person, ws_base: str) -> None:
        super().__init__(daemon=True, name=f"live-{person.email}")
        self.person = person
        self.ws_base = ws_base
        self.frames: list[dict[str, Any]] = []
        self.resyncs = 0
        self.connections = 0
        self.errors: list[str] = []
        self.cursor: str | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._opened = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                socket = Socket.open(self.person, self.ws_base, cursor=self.cursor)
            except (OSError, ConnectionClosed, InvalidStatus, AssertionError, TimeoutError) as error:
                # The ticket or the handshake failed (Redis moving, say): try again, as a client does.
                self.errors.append(f"open: {type(error).__name__}: {error}")
                time.sleep(RECONNECT_PAUSE)
                continue
            self.connections += 1
            if self.cursor is None:
                self.cursor = socket.cursor
            self._opened.set()
            try:
                self._read(socket)
            except ConnectionClosed as closed:
                self.errors.append(f"closed: {closed.rcvd.code if closed.rcvd else None}")
                time.sleep(RECONNECT_PAUSE)
            finally:
                socket.close()

    def _read(self, socket: Socket) -> None:
        while not self._stopping.is_set():
            try:
                frame = socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            if frame["type"] == "event":
                with self._lock:
                    self.frames.append(frame)
                self.cursor = frame["cursor"]
            elif frame["type"] == "resync":
                self.resyncs += 1

    def wait_open(self, timeout: float = 10.0) -> None:
        assert self._opened.wait(timeout), f"no socket opened: {self.errors[-3:]}"

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    def events(self) -> list[dict[str, Any]]:
        """The event envelopes received, in order (a replayed one may come twice)."""
        with self._lock:
            return [frame["event"] for frame in self.frames]

    def task_ids(self, event_type: str) -> list[int]:
        return [event["data"]["task"]["id"] for event in self.events() if event["type"] == event_type]

    def wait_for(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not within {timeout} s ({len(self.frames)} frames, {self.resyncs} resyncs, "
                    f"{self.connections} connections, last errors {self.errors[-3:]})"
                )
            time.sleep(0.05)
