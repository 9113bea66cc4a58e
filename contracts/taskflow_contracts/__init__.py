"""The contract between TaskFlow's services: one versioned event envelope, one typed model per
event type, and where events live in Redis. django-core produces, fastapi-realtime (and the
Celery consumers and the bot) consume; both import this package, so a field either side does not
know about fails at construction, not in a client."""

from taskflow_contracts.events import (
    EVENT_MODELS,
    EVENT_TYPES,
    SCHEMA_VERSION,
    Actor,
    Event,
    EventType,
    NotificationPayload,
    UserMessage,
    event_from_json,
    event_type_adapter,
)
from taskflow_contracts.redis_layout import (
    HISTORY_LENGTH,
    dedupe_key,
    event_frame,
    user_channel,
    user_stream,
)
from taskflow_contracts.redis_topology import RedisTopology, async_client, sync_client

__all__ = [
    "EVENT_MODELS",
    "EVENT_TYPES",
    "HISTORY_LENGTH",
    "SCHEMA_VERSION",
    "Actor",
    "Event",
    "EventType",
    "NotificationPayload",
    "RedisTopology",
    "UserMessage",
    "async_client",
    "dedupe_key",
    "event_frame",
    "event_from_json",
    "event_type_adapter",
    "sync_client",
    "user_channel",
    "user_stream",
]
