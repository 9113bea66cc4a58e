"""The app factory and its lifespan.

    cd fastapi-realtime && ../.venv/bin/uvicorn realtime_relay.main:app --port 8001 \\
        --ws-per-message-deflate false
    # or, with every server option taken from the settings:
    cd fastapi-realtime && ../.venv/bin/python -m realtime_relay

Shutdown: uvicorn closes every open WebSocket with 1012 before it runs the lifespan's shutdown,
so the relay hooks SIGTERM/SIGINT itself: the first signal closes every socket with 1001 (going
away: reconnect elsewhere), waits up to WS_DRAIN_TIMEOUT for them, and only then hands the signal
to uvicorn.
"""

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from realtime_relay.config import Settings, get_settings
from realtime_relay.hub import CLOSE_GOING_AWAY
from realtime_relay.logs import relay_logging
from realtime_relay.relay import Relay, relay_build
from realtime_relay.routes import router
from realtime_relay.routes.notifications import PATH as NOTIFICATIONS_PATH
from realtime_relay.routes.notifications import notifications_socket

logger = logging.getLogger("realtime_relay")

_ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found", 405: "method_not_allowed"}


class NotificationsSocket:
    """Serves `GET /ws/notifications` directly at the ASGI level, in front of the FastAPI app
    (everything else goes to it): a socket lives for hours, and every layer it passes through
    (FastAPI's and Starlette's middleware, routing) stays suspended in memory with it."""

    def __init__(self, app: FastAPI, relay: Relay) -> None:
        self.app = app
        self.relay = relay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == NOTIFICATIONS_PATH:
            await notifications_socket(scope, receive, send, self.relay)
            return
        await self.app(scope, receive, send)


class _NoSocketAccessLines(logging.Filter):
    """Drops uvicorn's line per WebSocket handshake (`... "WebSocket /ws/notifications?ticket=…"
    [accepted]`, logged whatever `--no-access-log` says): it carries the ticket, and formatting
    and writing it was about a twentieth of the CPU of a handshake (bench/realtime.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith('%s - "WebSocket %s"'))


_SOCKET_ACCESS_FILTER = _NoSocketAccessLines()


async def _drain(relay: Relay, reason: str) -> None:
    """Closes every socket with 1001 and waits (bounded) until they are gone."""
    closed = relay.hub.close_all(CLOSE_GOING_AWAY, reason)
    if closed:
        logger.info("closing %d sockets (1001): %s", closed, reason)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + relay.settings.ws_drain_timeout
    while relay.hub.connection_count and loop.time() < deadline:
        await asyncio.sleep(0.05)


def _hook_shutdown_signals(relay: Relay) -> Callable[[], None]:
    """Runs `_drain` before uvicorn's own signal handling; returns the undo function."""
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}
    state: dict[str, Any] = {"draining": False, "task": None}

    def handler(signum: int, frame: FrameType | None) -> None:
        forward = previous[signum]
        if state["draining"]:
            forward(signum, frame)  # a second Ctrl-C: no more waiting
            return
        state["draining"] = True

        async def drain_then_forward() -> None:
            try:
                await _drain(relay, "server shutting down")
            finally:
                forward(signum, None)

        def begin() -> None:
            state["task"] = loop.create_task(drain_then_forward())

        loop.call_soon_threadsafe(begin)

    for sig in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(sig)
        if not callable(current):
            continue  # no server handler to hand over to: leave the default alone
        try:
            signal.signal(sig, handler)
        except ValueError:
            break  # not the main thread (an embedded server): lifespan shutdown drains instead
        previous[sig] = current

    def undo() -> None:
        for sig, current in previous.items():
            with contextlib.suppress(ValueError):
                signal.signal(sig, current)

    return undo


def create_app(settings: Settings | None = None) -> NotificationsSocket:
    """The relay's ASGI app: the socket route in front of the FastAPI app (`.app`)."""
    settings = settings or get_settings()
    settings.check()
    relay = relay_build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        relay.subscriber.start()
        # Everything allocated so far lives as long as the process: keep it out of the
        # collector's way, and collect the young generation less often (each delivered frame
        # allocates; the default threshold spent about a tenth of the CPU in the collector,
        # bench/realtime.py).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        presence_task = asyncio.create_task(_refresh_presence(relay))
        undo_signals = _hook_shutdown_signals(relay)
        logger.info("relay %s up (Redis %s)", relay.instance, settings.topology.describe())
        try:
            yield
        finally:
            undo_signals()
            await _drain(relay, "server shutting down")
            await relay.presence.stop(timeout=relay.settings.ws_drain_timeout)
            presence_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await presence_task
            await relay.subscriber.stop()
            await relay.redis.aclose()

    app = FastAPI(
        title="TaskFlow realtime relay",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.relay = relay
    app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    logging.getLogger("uvicorn.error").addFilter(_SOCKET_ACCESS_FILTER)
    return NotificationsSocket(app, relay)


async def _refresh_presence(relay: Relay) -> None:
    while True:
        await asyncio.sleep(relay.presence.refresh_interval)
        await relay.presence.refresh(relay.hub.users())


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _ERROR_CODES.get(exc.status_code, "error" if exc.status_code >= 500 else "invalid")
    if exc.status_code == 503:
        code = "unavailable"
    return JSONResponse({"detail": exc.detail, "code": code}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{key: value for key, value in error.items() if key != "ctx"} for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(errors), "code": "invalid"}, status_code=422)


# The log schema for uvicorn's process (realtime_relay.logs), before the app logs anything.
relay_logging()
app = create_app()
