"""Where events live in Redis (the contract between the publisher and the relay).

For every recipient user:

- `user:{id}` — a pub/sub channel. Each message is a UserMessage (JSON) with its `cursor`.
- `user:{id}:events` — a stream holding the same messages (field `m`), trimmed to about the last
  HISTORY_LENGTH entries. The stream entry id is the `cursor`; a reconnecting client replays
  with XRANGE from its last cursor (exclusive), or is told to resync when the cursor is older
  than the oldest entry kept.
- `event:{event_id}:published` — a marker set when an event was published (with a TTL), so the
  fast path and the outbox relay never publish one event twice.
"""

HISTORY_LENGTH = 500
DEDUPE_TTL_SECONDS = 7 * 24 * 3600


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def user_stream(user_id: int) -> str:
    return f"user:{user_id}:events"


def dedupe_key(event_id: str) -> str:
    return f"event:{event_id}:published"


def event_frame(cursor: str, message_json: str) -> str:
    """The WebSocket frame for a stored UserMessage (`{"event": ..., "notification": ...}`):
    `{"type": "event", "cursor": ..., "event": ..., "notification": ...}`. Built by splicing, so
    the publisher serializes once and the relay forwards the same bytes to every socket."""
    if not message_json.startswith("{"):
        raise ValueError("a UserMessage is a JSON object")
    return '{"type":"event","cursor":"' + cursor + '",' + message_json[1:]
