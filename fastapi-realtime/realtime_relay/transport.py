"""What the relay takes from the server beneath ASGI when it is uvicorn: a synchronous write of
a text frame, and a way to cut the TCP connection.

ASGI's `send` is a coroutine, so a frame sent through it needs a task to await it; with one
writer task per socket, waking it for every frame cost about a third of the relay's CPU per
delivered frame (bench/realtime.py). uvicorn's websockets-sansio protocol (its default with the
`websockets` package) writes a frame without ever waiting unless the transport pushes back, so
the relay does what its `send` does, synchronously, as `websockets.broadcast` does for the
library's own server. When the transport pushes back (or the socket is closing) the write is
refused and the frame goes through ASGI `send` from a queue (hub.Connection). With any other
server (or protocol class) both helpers return None and everything goes through ASGI.

ASGI has no way to abort either: a close frame queued behind megabytes nobody reads never goes
out, so a client that stopped reading is cut off with the transport's `abort`.
"""

import asyncio
from collections.abc import Callable
from typing import Any

from websockets.exceptions import InvalidState
from websockets.protocol import Protocol

Write = Callable[[str], bool]


def _protocol(send: Any) -> Any:
    """The asyncio protocol behind uvicorn's `send` (a bound method of it), or None."""
    return getattr(send, "__self__", None)


def transport_abort(send: Any) -> Callable[[], None] | None:
    transport = getattr(_protocol(send), "transport", None)
    abort = getattr(transport, "abort", None)
    return abort if callable(abort) else None


def frame_writer(send: Any) -> Write | None:
    """A synchronous `write(text) -> bool` for an accepted socket of uvicorn's websockets-sansio
    protocol: True when the frame went into the transport, False when it must wait (the
    transport pushes back) or cannot go (closing, closed)."""
    protocol = _protocol(send)
    connection = getattr(protocol, "conn", None)
    transport = getattr(protocol, "transport", None)
    writable = getattr(protocol, "writable", None)
    if (
        not isinstance(connection, Protocol)
        or not isinstance(writable, asyncio.Event)
        or not hasattr(protocol, "close_sent")
        or transport is None
    ):
        return None

    def write(frame: str) -> bool:
        if protocol.close_sent or not writable.is_set() or transport.is_closing():
            return False
        try:
            connection.send_text(frame.encode())
        except InvalidState:
            return False
        transport.write(b"".join(connection.data_to_send()))
        return True

    return write
