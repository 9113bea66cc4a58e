"""The frames of the WebSocket protocol (DESIGN.md, "Realtime protocol") and stream cursors.

Event frames are never built here: the publisher's pub/sub payload already is the frame, and a
history entry becomes one through taskflow_contracts.event_frame. The relay only reads the cursor
out of a frame (its fixed prefix makes that a slice) and, for the rare frame that may be a
`user.revoked`, parses it.
"""

import json
import re
from datetime import datetime
from typing import NamedTuple

PONG = '{"type":"pong"}'
RESYNC = '{"type":"resync"}'
# Both publishers (django-core's Lua script and the relay's, the same text) start every frame so.
EVENT_PREFIX = '{"type":"event","cursor":"'
_REVOKED_MARK = '"type":"user.revoked"'
_CURSOR = re.compile(r"(\d{1,20})-(\d{1,20})")
_MAX_PART = 2**64 - 1


class Cursor(NamedTuple):
    """A stream entry id (`<ms>-<seq>`), compared as a pair of integers."""

    ms: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


ZERO = Cursor(0, 0)


def parse_cursor(text: str) -> Cursor | None:
    """The cursor, or None when `text` is not a valid stream id."""
    match = _CURSOR.fullmatch(text)
    if match is None:
        return None
    ms, seq = int(match[1]), int(match[2])
    # The largest id has no successor: XRANGE could not start after it.
    if ms > _MAX_PART or seq > _MAX_PART or (ms == _MAX_PART and seq == _MAX_PART):
        return None
    return Cursor(ms, seq)


def frame_cursor(frame: str) -> Cursor | None:
    if not frame.startswith(EVENT_PREFIX):
        return None
    end = frame.find('"', len(EVENT_PREFIX))
    return parse_cursor(frame[len(EVENT_PREFIX) : end]) if end > 0 else None


def revocation_time(frame: str) -> float | None:
    """When the `user.revoked` event in this frame occurred (unix seconds), or None for any
    other frame. A user-supplied string cannot fake the mark: its quotes would be escaped."""
    if _REVOKED_MARK not in frame:
        return None
    try:
        event = json.loads(frame)["event"]
        if event["type"] != "user.revoked":
            return None
        return datetime.fromisoformat(event["occurred_at"]).timestamp()
    except (ValueError, KeyError, TypeError):
        # A revocation we cannot date is still a revocation.
        return float("inf")


def hello(user_id: int, cursor: Cursor) -> str:
    return json.dumps({"type": "hello", "user_id": user_id, "cursor": str(cursor)}, separators=(",", ":"))


def error(code: str, detail: str) -> str:
    return json.dumps({"type": "error", "code": code, "detail": detail}, separators=(",", ":"))
