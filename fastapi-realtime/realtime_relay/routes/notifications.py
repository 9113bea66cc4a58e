"""`GET /ws/notifications?ticket=…[&cursor=…]`: one user's live events.

Every refusal happens after the handshake (accept, then close 4401), so a browser sees the close
code rather than an opaque HTTP failure. A socket runs two tasks around its hub.Connection:
the start (subscribe, hello, replay) and the reader (pings and anything else the client sends);
frames are written straight into the socket (transport.frame_writer), and a third task, the
writer (queue → socket), runs only while frames wait in the socket's queue. Whichever ends the
socket calls Connection.close, and this handler then closes the WebSocket with that code.
"""

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from realtime_relay import frames
from realtime_relay.auth import TicketBurn, TicketRejected, origin_allowed
from realtime_relay.frames import Cursor, parse_cursor
from realtime_relay.hub import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN_LATER,
    CLOSE_UNAUTHORIZED,
    Connection,
)
from realtime_relay.relay import Relay
from realtime_relay.transport import frame_writer, transport_abort

logger = logging.getLogger(__name__)

# Where a cursor that is not a stream id points: past every stream, so the client gets `resync`.
UNKNOWN_CURSOR = Cursor(2**64, 0)
# The key under which the socket's scope keeps a way to cut its TCP connection (transport.py).
ABORT_SCOPE_KEY = "realtime.abort"


PATH = "/ws/notifications"


async def notifications_socket(scope: Scope, receive: Receive, send: Send, relay: Relay) -> None:
    """Served straight from the outermost ASGI layer (main.NotificationsSocket), not through
    FastAPI: routing, dependency injection and the middleware kept their frames suspended for
    the socket's whole life (bench/realtime.py)."""
    abort = transport_abort(send)
    if abort is not None:
        scope[ABORT_SCOPE_KEY] = abort
    websocket = WebSocket(scope, receive, send)
    await websocket.accept()
    metrics, settings = relay.metrics, relay.settings
    if not origin_allowed(
        websocket.headers.get("origin"),
        allowed=settings.allowed_origins,
        allow_missing=settings.ws_allow_missing_origin,
    ):
        metrics.auth_failures["origin"] += 1
        await _close(websocket, CLOSE_UNAUTHORIZED, "origin not allowed", settings.ws_close_timeout)
        return
    try:
        ticket = relay.verifier.verify(websocket.query_params.get("ticket"))
    except TicketRejected as exc:
        metrics.auth_failures[exc.reason] += 1
        await _close(websocket, CLOSE_UNAUTHORIZED, "unauthorized", settings.ws_close_timeout)
        return

    raw_cursor = websocket.query_params.get("cursor")
    cursor = None if not raw_cursor else (parse_cursor(raw_cursor) or UNKNOWN_CURSOR)
    conn = Connection(
        user_id=ticket.user_id,
        ticket_iat=ticket.issued_at,
        queue_size=settings.ws_queue_size,
        metrics=metrics,
        held_limit=settings.max_replay,
    )
    conn.write_now = frame_writer(send)
    burn = relay.verifier.burn(ticket)
    # This frame stays suspended for as long as the socket lives: it keeps nothing it no longer
    # needs (RSS per idle socket, bench/realtime.py).
    del ticket
    await _serve(websocket, relay, conn, cursor, burn)


async def _serve(websocket: WebSocket, relay: Relay, conn: Connection, cursor: Cursor | None, burn: TicketBurn) -> None:
    hub, metrics = relay.hub, relay.metrics
    first_here = hub.add(conn)
    metrics.connections_opened += 1
    tasks = [
        _guarded(conn, functools.partial(_start, relay, conn, cursor, first_here, burn)),
        _guarded(conn, lambda: _read(websocket, conn, relay)),
    ]
    del burn  # the start task holds it while it needs it; this frame lives as long as the socket

    def wake_writer() -> None:
        tasks[:] = [task for task in tasks if not task.done()]
        tasks.append(_guarded(conn, lambda: _write(websocket, conn, relay)))

    conn.wake_writer = wake_writer
    try:
        await conn.closing
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if hub.remove(conn):
            relay.subscriber.release(conn.user_id)
            relay.presence.left(conn.user_id)
    if conn.close_code is not None:
        await _close(websocket, conn.close_code, conn.close_reason, relay.settings.ws_close_timeout)


def _guarded(conn: Connection, job: Callable[[], Coroutine[Any, Any, None]]) -> "asyncio.Task[None]":
    """Runs one of the socket's tasks; a failure closes the socket instead of vanishing."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("socket of user %s failed", conn.user_id)
            conn.close(CLOSE_INTERNAL_ERROR, "internal error")

    return asyncio.create_task(run())


async def _start(relay: Relay, conn: Connection, cursor: Cursor | None, first_here: bool, burn: TicketBurn) -> None:
    """Subscribes, then burns the ticket and reads the history in one script (auth.py): a
    reused ticket is refused (4401) after its signature, and so its user, were checked; without
    Redis the socket is told to try again later (1013) with its ticket not used up."""
    settings = relay.settings
    if first_here:
        relay.presence.arrived(conn.user_id)
    if not await relay.subscriber.acquire(conn.user_id, timeout=settings.ws_subscribe_timeout):
        relay.hub.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")
        return
    try:
        await relay.catch_up.start(conn, cursor, burn=burn)
    except TicketRejected as exc:
        relay.metrics.auth_failures[exc.reason] += 1
        conn.close(CLOSE_UNAUTHORIZED, "unauthorized")
        return
    except RedisError:
        relay.hub.drop(conn, CLOSE_TRY_AGAIN_LATER, "redis_unavailable")
        return
    if not conn.closed:
        conn.established = True


async def _write(websocket: WebSocket, conn: Connection, relay: Relay) -> None:
    """Drains the socket's queue through ASGI `send` (the socket pushed back, or the server
    offers no synchronous write), then ends: frames go straight to the socket again."""
    metrics, queue, send = relay.metrics, conn.queue, websocket.send_text
    try:
        while not queue.empty():
            frame = queue.get_nowait()
            await send(frame)
            metrics.messages_sent += 1
    except (WebSocketDisconnect, OSError, RuntimeError) as exc:
        logger.debug("socket of user %s went away while writing: %s", conn.user_id, exc)
        conn.close(None)
    finally:
        conn.writing = False


async def _read(websocket: WebSocket, conn: Connection, relay: Relay) -> None:
    limit, metrics = relay.settings.ws_max_message_bytes, relay.metrics
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            conn.close(None)
            return
        text: str | None = message.get("text")
        size = len(message.get("bytes") or b"") if text is None else len(text.encode())
        if size > limit:
            metrics.client_errors += 1
            conn.close(CLOSE_TOO_BIG, f"messages are limited to {limit} bytes")
            return
        reply = frames.PONG if text is not None and _is_ping(text) else _client_error(text)
        if reply is not frames.PONG:
            metrics.client_errors += 1
        conn.send(reply)


def _is_ping(text: str) -> bool:
    # The only message a client sends; the exact form skips the parser.
    if text == '{"type":"ping"}':
        return True
    try:
        message = json.loads(text)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "ping"


def _client_error(text: str | None) -> str:
    if text is None:
        return frames.error("binary_not_supported", "Send JSON text frames.")
    try:
        message = json.loads(text)
    except ValueError:
        return frames.error("invalid_json", "The message is not valid JSON.")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return frames.error("invalid_message", 'Expected a JSON object such as {"type": "ping"}.')
    return frames.error("unknown_type", 'The only message a client sends is {"type": "ping"}.')


async def _close(websocket: WebSocket, code: int, reason: str, timeout: float) -> None:
    """Closes with `code`; a client that does not take the close frame in time (its socket
    buffers are full, it stopped reading) is cut off."""
    try:
        await asyncio.wait_for(websocket.close(code=code, reason=reason[:120]), timeout)
    except TimeoutError:
        abort: Callable[[], None] | None = websocket.scope.get(ABORT_SCOPE_KEY)
        if abort is not None:
            abort()
    except (WebSocketDisconnect, OSError, RuntimeError):
        pass  # already closed by the client
