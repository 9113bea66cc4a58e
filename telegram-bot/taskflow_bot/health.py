"""`GET /health` on BOT_HEALTH_HOST:BOT_HEALTH_PORT, for docker's HEALTHCHECK and the tests.

200 `{"status": "ok", "polling": true, "push": true}` while both loops run; 503 with the failing
part false when a loop died or kept failing (Telegram, django-core or Redis unreachable) for
longer than BOT_HEALTH_GRACE seconds. A single failed call is not "unhealthy": both loops back
off and retry by themselves.
"""

import logging
import time
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)


class LoopHealth:
    """What one loop reports about itself."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.running = False
        self.failing_since: float | None = None
        self.last_error = ""

    def started(self) -> None:
        self.running = True
        self.failing_since = None

    def stopped(self) -> None:
        self.running = False

    def ok(self) -> None:
        if self.failing_since is not None:
            logger.info("%s loop recovered", self.name)
        self.failing_since = None
        self.last_error = ""

    def failing(self, error: str) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = error

    def healthy(self, grace: float) -> bool:
        if not self.running:
            return False
        return self.failing_since is None or time.monotonic() - self.failing_since < grace


def health_app(polling: LoopHealth, push: LoopHealth, *, grace: float) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        body: dict[str, Any] = {"polling": polling.healthy(grace), "push": push.healthy(grace)}
        healthy = body["polling"] and body["push"]
        body = {"status": "ok" if healthy else "unhealthy", **body}
        errors = {loop.name: loop.last_error for loop in (polling, push) if not loop.healthy(grace) and loop.last_error}
        if errors:
            body["errors"] = errors
        return web.json_response(body, status=200 if healthy else 503)

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    # /ready is /health (both loops work: Telegram, django-core and Redis answer); /live only
    # says the process answers (docs/operations.md "Health").
    app.router.add_get("/ready", health)
    app.router.add_get("/live", live)
    return app


async def start_health_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    logger.info("Health check on http://%s:%d/health", host, port)
    return runner
