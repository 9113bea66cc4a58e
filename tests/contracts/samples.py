"""Valid event data per type, as it travels in JSON, for the contract tests."""

import copy
from typing import Any
from uuid import uuid4

from taskflow_contracts import EventType

TASK = {
    "id": 42,
    "title": "Launch",
    "status": "in_progress",
    "priority": "high",
    "project_id": 3,
    "assignee_id": 9,
    "deadline": "2026-12-01T10:00:00Z",
    "rank": "a1V",
}
PROJECT = {"id": 3, "name": "Rocket"}

SAMPLE_DATA: dict[EventType, dict[str, Any]] = {
    EventType.PROJECT_INVITED: {
        "project": PROJECT,
        "invite": {"id": 5, "email": "bob@example.com", "role": "member", "expires_at": "2026-12-01T10:00:00Z"},
    },
    EventType.PROJECT_MEMBER_JOINED: {"project": PROJECT, "member": {"id": 9, "name": "Bob"}, "role": "admin"},
    EventType.PROJECT_MEMBER_REMOVED: {"project": PROJECT, "member": {"id": 9, "name": "Bob"}},
    EventType.PROJECT_MEMBER_ROLE_CHANGED: {
        "project": PROJECT,
        "member": {"id": 9, "name": "Bob"},
        "role": "viewer",
        "previous_role": "member",
    },
    EventType.PROJECT_UPDATED: {"project": PROJECT, "changes": ["name"]},
    EventType.PROJECT_DELETED: {"project": PROJECT},
    EventType.TASK_CREATED: {"task": TASK},
    EventType.TASK_ASSIGNED: {"task": TASK, "assignee": {"id": 9, "name": "Bob"}, "previous_assignee_id": 8},
    EventType.TASK_UNASSIGNED: {"task": {**TASK, "assignee_id": None}, "previous_assignee": {"id": 9, "name": "Bob"}},
    EventType.TASK_STATUS_CHANGED: {"task": TASK, "from": "todo", "to": "in_progress"},
    EventType.TASK_UPDATED: {"task": {**TASK, "deadline": None}, "changes": ["title", "deadline"]},
    EventType.TASK_COMMENTED: {"task": TASK, "comment": {"id": 11, "body": "Ça marche 👍", "author_id": 7}},
    EventType.TASK_MOVED: {"task": {**TASK, "rank": "a1"}},
    EventType.TASK_DELETED: {"task": TASK},
    EventType.TASK_DEADLINE_APPROACHING: {"task": TASK, "window": "1h"},
    EventType.TASK_OVERDUE: {"task": TASK},
    EventType.USER_REVOKED: {"user_id": 7, "reason": "password_change"},
}

NOTIFICATION = {"id": 3, "message": "Ada assigned you “Launch”", "is_read": False, "created_at": "2026-11-23T15:15:55Z"}


def envelope(event_type: EventType, **overrides: Any) -> dict[str, Any]:
    """A valid envelope of the type, as JSON-ready data (a fresh copy each call)."""
    return {
        "v": 1,
        "id": str(uuid4()),
        "type": event_type.value,
        "occurred_at": "2026-11-23T15:15:55.403013Z",
        "actor": {"id": 7, "name": "Ada"},
        "data": copy.deepcopy(SAMPLE_DATA[event_type]),
        **overrides,
    }
