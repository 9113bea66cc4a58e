"""Which channels a user wants per event type. A user without a stored preference for a type
gets DEFAULT_PREFERENCES; `user.revoked` is a system event and has no preference."""

from collections.abc import Iterable

from taskflow_contracts import EventType

from notifications.models import NotificationPreference

_WEB_AND_EMAIL = {"web": True, "email": True, "telegram": False}
_WEB_ONLY = {"web": True, "email": False, "telegram": False}

# Assignment, invites and deadlines matter enough for email by default; the rest stays in-app.
DEFAULT_PREFERENCES: dict[str, dict[str, bool]] = {  # keyed by EventType values
    EventType.PROJECT_INVITED.value: _WEB_AND_EMAIL,
    EventType.PROJECT_MEMBER_JOINED.value: _WEB_ONLY,
    EventType.PROJECT_MEMBER_REMOVED.value: _WEB_ONLY,
    EventType.TASK_CREATED.value: _WEB_ONLY,
    EventType.TASK_ASSIGNED.value: _WEB_AND_EMAIL,
    EventType.TASK_UNASSIGNED.value: _WEB_ONLY,
    EventType.TASK_STATUS_CHANGED.value: _WEB_ONLY,
    EventType.TASK_UPDATED.value: _WEB_ONLY,
    EventType.TASK_COMMENTED.value: _WEB_ONLY,
    EventType.TASK_DEADLINE_APPROACHING.value: _WEB_AND_EMAIL,
    EventType.TASK_OVERDUE.value: _WEB_AND_EMAIL,
}
USER_FACING_TYPES: tuple[str, ...] = tuple(DEFAULT_PREFERENCES)


def preferences_of(
    *, user_ids: Iterable[int], event_type: str, customized: Iterable[int] | None = None
) -> dict[int, dict[str, bool]]:
    """Each user's channels for one event type. `customized`: the users known to have stored
    preferences (User.has_notification_preferences); only those are looked up, and with none,
    no query is made. Without it every user is looked up (one query)."""
    ids = list(user_ids)
    lookup = ids if customized is None else list(customized)
    chosen = {}
    if lookup:
        rows = NotificationPreference.objects.filter(user_id__in=lookup, event_type=event_type)
        chosen = {row.user_id: _channels(row) for row in rows}
    default = DEFAULT_PREFERENCES[event_type]
    return {user_id: chosen.get(user_id, default) for user_id in ids}


def preferences_table(*, user_id: int) -> dict[str, dict[str, bool]]:
    """Every user-facing event type with the user's channels (stored or default)."""
    table = {event_type: dict(channels) for event_type, channels in DEFAULT_PREFERENCES.items()}
    for row in NotificationPreference.objects.filter(user_id=user_id, event_type__in=USER_FACING_TYPES):
        table[row.event_type] = _channels(row)
    return table


def _channels(row: NotificationPreference) -> dict[str, bool]:
    return {"web": row.web, "email": row.email, "telegram": row.telegram}
