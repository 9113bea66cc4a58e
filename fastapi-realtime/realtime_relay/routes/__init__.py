"""HTTP routes of the relay (the WebSocket is served by main.NotificationsSocket)."""

from fastapi import APIRouter

from realtime_relay.routes import health, live, notify

router = APIRouter()
router.include_router(health.router)
router.include_router(live.router)
router.include_router(notify.router)

__all__ = ["router"]
