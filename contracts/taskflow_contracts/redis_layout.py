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


# --- Publishing (shared by django-core's publisher and the relay's /notify/deadline) -------------

# KEYS: [dedupe, stream_1, channel_1, stream_2, channel_2, ...]
# ARGV: [history_length, dedupe_ttl, history_ttl, message_1, message_2, ...]
# Atomic in Redis: sets the event's dedupe marker and, only if it was not set yet, appends each
# recipient's UserMessage to their history stream and publishes it (the stream id as its cursor)
# on their channel. Same text as django-core's notifications.publisher.PUBLISH_LUA (a contract
# test in tests/fastapi_realtime checks they stay identical).
PUBLISH_EVENT_LUA = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  return 0
end
for i = 2, #KEYS, 2 do
  local message = ARGV[3 + i / 2]
  local cursor = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'm', message)
  redis.call('EXPIRE', KEYS[i], ARGV[3])
  redis.call('PUBLISH', KEYS[i + 1], '{"type":"event","cursor":"' .. cursor .. '",' .. string.sub(message, 2))
end
return 1
"""


# --- Presence (written by fastapi-realtime) ------------------------------------------------------

# A sorted set of online user ids scored by when their presence expires (unix seconds): online
# users are `ZRANGE presence:online (<now> +inf BYSCORE`. Each relay instance refreshes the users
# it holds sockets for; a crashed instance's users simply expire.
PRESENCE_ONLINE = "presence:online"


def user_presence(user_id: int) -> str:
    """A sorted set of the relay instances holding sockets of the user (scored by expiry), so the
    last instance to lose the user's sockets can take them offline at once."""
    return f"user:{user_id}:presence"
