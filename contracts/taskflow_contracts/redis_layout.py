"""Where events live in Redis (the contract between the publisher and the relay).

Every key of one user carries the user's id as its hash tag (`user:{7}:…`), so a script touching
them runs on one Redis Cluster node, and the same code runs on a single node or under Sentinel
(docs/scaling.md). For every recipient user:

- `user:{7}` — a sharded pub/sub channel (SPUBLISH / SSUBSCRIBE). Each message is the WebSocket
  frame of a UserMessage (JSON) with its `cursor`.
- `user:{7}:events` — a stream holding the same messages (field `m`), trimmed to about the last
  HISTORY_LENGTH entries. The stream entry id is the `cursor`; a reconnecting client replays
  with XRANGE from its last cursor (exclusive), or is told to resync when the cursor is older
  than the oldest entry kept.
- `user:{7}:published`, `user:{7}:boards`, `user:{7}:held` — dedupe and board order (DELIVER_LUA).

`outbox:done:{event id}` marks an outbox event delivered to every recipient.
"""

HISTORY_LENGTH = 500
DEDUPE_TTL_SECONDS = 7 * 24 * 3600


def event_frame(cursor: str, message_json: str) -> str:
    """The WebSocket frame for a stored UserMessage (`{"event": ..., "notification": ...}`):
    `{"type": "event", "cursor": ..., "event": ..., "notification": ...}`. Built by splicing, so
    the publisher serializes once and the relay forwards the same bytes to every socket."""
    if not message_json.startswith("{"):
        raise ValueError("a UserMessage is a JSON object")
    return '{"type":"event","cursor":"' + cursor + '",' + message_json[1:]


# --- Presence (written by fastapi-realtime) ------------------------------------------------------

# A sorted set of online user ids scored by when their presence expires (unix seconds): online
# users are `ZRANGE presence:online (<now> +inf BYSCORE`. Each relay instance refreshes the users
# it holds sockets for; a crashed instance's users simply expire.
PRESENCE_ONLINE = "presence:online"


# --- Per-user delivery, one hash slot per call (docs/scaling.md) ---------------------------------
#
# Every key of one user carries the user's id as its hash tag, so a script touching them runs on
# one Redis Cluster node, and the same code runs on a single node or under Sentinel.


def user_tag(user_id: int) -> str:
    """`{7}`: the hash tag of every key and of the channel of user 7."""
    return "{" + str(int(user_id)) + "}"


def tagged_user_channel(user_id: int) -> str:
    """`user:{7}`: the user's sharded pub/sub channel (SPUBLISH / SSUBSCRIBE)."""
    return f"user:{user_tag(user_id)}"


def tagged_user_stream(user_id: int) -> str:
    """`user:{7}:events`: the user's history stream (the entry id is the frame's cursor)."""
    return f"user:{user_tag(user_id)}:events"


def user_published(user_id: int) -> str:
    """`user:{7}:published`: ids of the events delivered to the user (sorted set scored by
    unix time, trimmed to DEDUPE_TTL_SECONDS): a second delivery of one event is a no-op."""
    return f"user:{user_tag(user_id)}:published"


def user_boards(user_id: int) -> str:
    """`user:{7}:boards`: hash, project id → the last board number delivered to the user."""
    return f"user:{user_tag(user_id)}:boards"


def user_held(user_id: int) -> str:
    """`user:{7}:held`: hash, `<project>:<after>` → a delivery waiting for board number `after`."""
    return f"user:{user_tag(user_id)}:held"


def tagged_user_presence(user_id: int) -> str:
    """`user:{7}:presence`: the relay instances holding the user's sockets (scored by expiry)."""
    return f"user:{user_tag(user_id)}:presence"


def user_delivery_keys(user_id: int) -> list[str]:
    """DELIVER_LUA's KEYS for one user, in its order."""
    return [
        tagged_user_stream(user_id),
        tagged_user_channel(user_id),
        user_published(user_id),
        user_boards(user_id),
        user_held(user_id),
    ]


REQUEST_ID_SEPARATOR = "\x1f"


def split_request_id(data: str) -> tuple[str, str]:
    """(request id or "", frame) of what DELIVER_LUA published on a user's channel."""
    if data[:1] == "{":
        return "", data
    request_id, separator, frame = data.partition(REQUEST_ID_SEPARATOR)
    return (request_id, frame) if separator else ("", data)


def outbox_done_key(event_id: str) -> str:
    """Set once an outbox event is delivered to every recipient (fast path or outbox relay)."""
    return f"outbox:done:{event_id}"


HELD_TTL_SECONDS = 3600

# One user's delivery of one event: history, live frame, dedupe and board order, atomically.
# KEYS: user_delivery_keys(user) = [stream, channel, published, boards, held]
# ARGV: [history_length, history_ttl, dedupe_ttl, now (unix seconds), event_id, message,
#        project, seq, after, flags, request_id]
#   message: the UserMessage JSON ({"event": ..., "notification": ...});
#   request_id: the id of the request that caused the event ('' = none), for the logs only
#     (docs/operations.md): the history entry's field `r`, and on the live frame a prefix
#     `<request_id>\x1f` the relay strips before the frame goes to a socket (split_request_id);
#     never in the envelope or in what a client receives.
#   project, seq: the board event's project and board number ('' for events that have none);
#   after: the number that must be delivered to this user first ('' = none: take it as is);
#   flags: 'f' deliver even when `after` is missing (the outbox relay, for old rows),
#          'r' forget the project's number after delivering (the user left the project).
# Returns 1 delivered (and whatever waited on it released, in order), 0 delivered before,
# 2 held until `after` is delivered.
DELIVER_LUA = (
    """
local history_length, history_ttl, dedupe_ttl, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local force, reset = string.find(ARGV[10], 'f', 1, true) ~= nil, string.find(ARGV[10], 'r', 1, true) ~= nil

local function deliver(event_id, message, project, seq, forget, request_id)
  local cursor, traced
  if request_id ~= nil and request_id ~= '' then
    cursor = redis.call('XADD', KEYS[1], 'MAXLEN', '~', history_length, '*', 'm', message, 'r', request_id)
    traced = request_id .. string.char(31)
  else
    cursor = redis.call('XADD', KEYS[1], 'MAXLEN', '~', history_length, '*', 'm', message)
    traced = ''
  end
  redis.call('EXPIRE', KEYS[1], history_ttl)
  redis.call('SPUBLISH', KEYS[2], traced .. '{"type":"event","cursor":"' .. cursor .. '",' .. string.sub(message, 2))
  redis.call('ZADD', KEYS[3], now, event_id)
  redis.call('EXPIRE', KEYS[3], dedupe_ttl)
  if project ~= '' then
    if forget then
      redis.call('HDEL', KEYS[4], project)
    else
      local last = tonumber(redis.call('HGET', KEYS[4], project))
      if not last or tonumber(seq) > last then
        redis.call('HSET', KEYS[4], project, seq)
      end
    end
    redis.call('EXPIRE', KEYS[4], dedupe_ttl)
  end
end

if redis.call('ZSCORE', KEYS[3], ARGV[5]) then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - dedupe_ttl)
local project, seq, after = ARGV[7], ARGV[8], ARGV[9]
if project ~= '' and after ~= '' and not force then
  local last = tonumber(redis.call('HGET', KEYS[4], project))
  if last and last < tonumber(after) then
    redis.call('HSET', KEYS[5], project .. ':' .. after,
               cjson.encode({e = ARGV[5], m = ARGV[6], s = seq, r = reset and 1 or 0, q = ARGV[11]}))
    redis.call('EXPIRE', KEYS[5], """
    + str(HELD_TTL_SECONDS)
    + """)
    return 2
  end
end
deliver(ARGV[5], ARGV[6], project, seq, reset, ARGV[11])
while project ~= '' do
  local field = project .. ':' .. seq
  local held = redis.call('HGET', KEYS[5], field)
  if not held then
    break
  end
  redis.call('HDEL', KEYS[5], field)
  held = cjson.decode(held)
  if not redis.call('ZSCORE', KEYS[3], held.e) then
    deliver(held.e, held.m, project, held.s, held.r == 1, held.q)
  end
  seq = held.s
end
return 1
"""
)
