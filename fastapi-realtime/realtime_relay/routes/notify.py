"""`POST /notify/deadline` (internal, never routed by the gateway): push a deadline alert to
users' sockets on every relay instance.

    X-Service-Token: <REALTIME_SERVICE_TOKEN>
    {"user_ids": [7, 9], "event": <a task.deadline_approaching or task.overdue envelope>}

→ 202 `{"event_id", "recipients", "published"}`; `published` is false when that event was
published before (by django-core or an earlier call), which sends nothing twice. 401 on a bad
token, 422 on a bad body, 503 while Redis is unreachable. Errors are `{"detail", "code"}`.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, PositiveInt
from redis.exceptions import RedisError
from taskflow_contracts.events import TaskDeadlineApproaching, TaskOverdue

from realtime_relay.deps import RelayDep, ServiceTokenDep

router = APIRouter()

DeadlineEvent = Annotated[TaskDeadlineApproaching | TaskOverdue, Field(discriminator="type")]


class DeadlineAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_ids: list[PositiveInt] = Field(min_length=1, max_length=1000)
    event: DeadlineEvent


class AlertAccepted(BaseModel):
    event_id: str
    recipients: int
    published: bool


@router.post("/notify/deadline", status_code=status.HTTP_202_ACCEPTED)
async def notify_deadline(alert: DeadlineAlert, _: ServiceTokenDep, relay: RelayDep) -> AlertAccepted:
    user_ids = sorted(set(alert.user_ids))
    # A UserMessage without a stored notification (the relay has no database).
    message_json = '{"event":' + alert.event.model_dump_json(by_alias=True) + ',"notification":null}'
    try:
        async with relay.redis_slots:
            published = await relay.publisher.publish(
                event_id=str(alert.event.id), user_ids=user_ids, message_json=message_json
            )
    except RedisError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="Redis is unavailable; retry later.") from None
    if published:
        relay.metrics.deadline_alerts += 1
    return AlertAccepted(event_id=str(alert.event.id), recipients=len(user_ids), published=published)
