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
    DELIVER_LUA,
    HISTORY_LENGTH,
    PRESENCE_ONLINE,
    event_frame,
    outbox_done_key,
    tagged_user_channel,
    tagged_user_presence,
    tagged_user_stream,
    user_boards,
    user_delivery_keys,
    user_held,
    user_published,
)
from taskflow_contracts.redis_topology import TOPOLOGY_VARIABLES, RedisTopology, async_client, sync_client

__all__ = [
    "DELIVER_LUA",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "HISTORY_LENGTH",
    "PRESENCE_ONLINE",
    "SCHEMA_VERSION",
    "TOPOLOGY_VARIABLES",
    "Actor",
    "Event",
    "EventType",
    "NotificationPayload",
    "RedisTopology",
    "UserMessage",
    "async_client",
    "event_frame",
    "event_from_json",
    "event_type_adapter",
    "outbox_done_key",
    "sync_client",
    "tagged_user_channel",
    "tagged_user_presence",
    "tagged_user_stream",
    "user_boards",
    "user_delivery_keys",
    "user_held",
    "user_published",
]
