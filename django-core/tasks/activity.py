"""A task's history in words: the sentence for one tasks.models.TaskActivity entry, in the active
language (the request's). The entry's `data` is its event's (docs/events.md); nothing else is read,
so a history reads the same whatever happened to the task or the people since."""

from typing import Any

from django.utils.translation import gettext as _
from taskflow_contracts import EventType

from tasks.models import TaskActivity, TaskStatus


def activity_message(entry: TaskActivity) -> str:
    """E.g. "Ada changed the status from To do to In progress"; the actor by the name they had
    then."""
    actor = entry.actor_name or _("TaskFlow")
    data: dict[str, Any] = entry.data
    match entry.type:
        case EventType.TASK_CREATED:
            return _("%(actor)s created the task") % {"actor": actor}
        case EventType.TASK_ASSIGNED:
            assignee = data["assignee"]
            if entry.actor_id is not None and assignee["id"] == entry.actor_id:
                return _("%(actor)s assigned themselves") % {"actor": actor}
            return _("%(actor)s assigned %(assignee)s") % {"actor": actor, "assignee": assignee["name"]}
        case EventType.TASK_UNASSIGNED:
            previous = data["previous_assignee"]
            if entry.actor_id is not None and previous["id"] == entry.actor_id:
                return _("%(actor)s unassigned themselves") % {"actor": actor}
            return _("%(actor)s unassigned %(assignee)s") % {"actor": actor, "assignee": previous["name"]}
        case EventType.TASK_STATUS_CHANGED:
            return _("%(actor)s changed the status from %(from)s to %(to)s") % {
                "actor": actor,
                "from": _status_label(data["from"]),
                "to": _status_label(data["to"]),
            }
        case EventType.TASK_UPDATED:
            return _("%(actor)s changed the %(fields)s") % {
                "actor": actor,
                "fields": _and_list([_field_label(field) for field in data["changes"]]),
            }
        case EventType.TASK_COMMENTED:
            return _("%(actor)s commented") % {"actor": actor}
    # An event type kept in the history after this was written: said without its details.
    return _("%(actor)s changed the task") % {"actor": actor}


def _status_label(value: str) -> str:
    return str(TaskStatus(value).label) if value in TaskStatus.values else value


def _field_label(field: str) -> str:
    labels = {
        "title": _("title"),
        "description": _("description"),
        "priority": _("priority"),
        "deadline": _("deadline"),
    }
    return labels.get(field, field)


def _and_list(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`, in the active language."""
    if len(items) <= 1:
        return "".join(items)
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}
