"""HTTP and WebSocket routes of the relay."""

from fastapi import APIRouter

from realtime_relay.routes import health, notifications, notify

router = APIRouter()
router.include_router(notifications.router)
router.include_router(health.router)
router.include_router(notify.router)

__all__ = ["router"]
