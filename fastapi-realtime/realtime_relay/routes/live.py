"""`GET /ws/live`: the process answers (liveness, no dependency asked); readiness is
`/ws/health` (Redis answers and every subscription link is up)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/ws/live")
async def live() -> JSONResponse:
    return JSONResponse({"status": "ok"})
