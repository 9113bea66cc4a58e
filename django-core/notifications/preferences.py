"""Which channels a user wants per event type. A user without a stored preference for a type
gets DEFAULT_PREFERENCES; `user.revoked` is a system event and has no preference."""

from collections.abc import Iterable

from taskflow_contracts import EventType

from notifications.models import NotificationPreference

# Every type is shown in the web app and can go to Telegram (the bot renders any of them); email
# is sent for these only (mailing's templates). A user is offered exactly the channels a type is
# delivered on: no toggle that does nothing.
EMAILED_TYPES: frozenset[str] = frozenset(
    {
        EventType.PROJECT_INVITED.value,
        EventType.TASK_ASSIGNED.value,
        EventType.TASK_DEADLINE_APPROACHING.value,
        EventType.TASK_OVERDUE.value,
    }
)


def channels_offered(event_type: str) -> tuple[str, ...]:
    return ("web", "email", "telegram") if event_type in EMAILED_TYPES else ("web", "telegram")


def _defaults(event_type: EventType) -> dict[str, bool]:
    # Assignment, invites and deadlines matter enough for email by default; the rest stays in-app.
    return {channel: channel == "web" or channel == "email" for channel in channels_offered(event_type.value)}


# Events that only move things on open boards (notifications.events.BOARD_EVENT_TYPES) and never
# notify anyone: no preference, like the system event user.revoked.
UNNOTIFIED_TYPES: frozenset[str] = frozenset(
    {EventType.USER_REVOKED.value, EventType.TASK_MOVED.value, EventType.PROJECT_UPDATED.value}
)

DEFAULT_PREFERENCES: dict[str, dict[str, bool]] = {  # keyed by EventType values
    event_type.value: _defaults(event_type) for event_type in EventType if event_type.value not in UNNOTIFIED_TYPES
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
    return {channel: getattr(row, channel) for channel in channels_offered(row.event_type)}
