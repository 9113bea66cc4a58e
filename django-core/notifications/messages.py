"""Notification texts, rendered through gettext in each recipient's language.

Translated names (task titles, project names) are read from the model while the recipient's
language is active, so a Russian reader sees the Russian title where one was written.
"""

from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from taskflow_contracts import EventType

from accounts.models import User
from projects.models import Role
from tasks.models import TaskStatus

EXCERPT_LENGTH = 120


@dataclass(frozen=True)
class MessageContext:
    """What a message may mention. `task` / `project` are model instances (translated fields);
    `data` is the event's data model."""

    event_type: str
    actor_name: str | None
    data: Any
    task: Any = None
    project: Any = None


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


def _status_label(value: str) -> str:
    return str(TaskStatus(value).label)


def render_message(context: MessageContext, recipient: User) -> str:
    """The message for one recipient, in their language."""
    if translation.get_language() == recipient.language:  # the usual case: no switch needed
        return _render(context, recipient)[:500]
    with translation.override(recipient.language):
        return _render(context, recipient)[:500]


def _render(c: MessageContext, recipient: User) -> str:
    actor = c.actor_name or _("TaskFlow")
    task = c.task.title if c.task is not None else None
    project = c.project.name if c.project is not None else None
    data = c.data
    match c.event_type:
        case EventType.PROJECT_INVITED:
            return _("%(actor)s invited you to “%(project)s” as %(role)s.") % {
                "actor": actor,
                "project": project,
                "role": _role_label(data.invite.role),
            }
        case EventType.PROJECT_MEMBER_JOINED:
            return _("%(member)s joined “%(project)s”.") % {"member": data.member.name, "project": project}
        case EventType.PROJECT_MEMBER_REMOVED:
            if data.member.id == recipient.pk:
                return _("You are no longer a member of “%(project)s”.") % {"project": project}
            return _("%(member)s is no longer a member of “%(project)s”.") % {
                "member": data.member.name,
                "project": project,
            }
        case EventType.PROJECT_MEMBER_ROLE_CHANGED:
            if data.member.id == recipient.pk:
                return _("%(actor)s made you %(role)s in “%(project)s”.") % {
                    "actor": actor,
                    "role": _role_label(data.role),
                    "project": project,
                }
            return _("%(actor)s made %(member)s %(role)s in “%(project)s”.") % {
                "actor": actor,
                "member": data.member.name,
                "role": _role_label(data.role),
                "project": project,
            }
        case EventType.PROJECT_DELETED:
            return _("%(actor)s deleted the project “%(project)s”.") % {"actor": actor, "project": project}
        case EventType.TASK_DELETED:
            return _("%(actor)s deleted “%(task)s”.") % {"actor": actor, "task": task}
        case EventType.TASK_CREATED:
            return _("%(actor)s created “%(task)s”.") % {"actor": actor, "task": task}
        case EventType.TASK_ASSIGNED:
            if data.assignee.id == recipient.pk:
                return _("%(actor)s assigned “%(task)s” to you.") % {"actor": actor, "task": task}
            return _("%(actor)s assigned “%(task)s” to %(assignee)s.") % {
                "actor": actor,
                "task": task,
                "assignee": data.assignee.name,
            }
        case EventType.TASK_UNASSIGNED:
            if data.previous_assignee.id == recipient.pk:
                return _("%(actor)s took “%(task)s” off you.") % {"actor": actor, "task": task}
            return _("%(actor)s unassigned %(assignee)s from “%(task)s”.") % {
                "actor": actor,
                "task": task,
                "assignee": data.previous_assignee.name,
            }
        case EventType.TASK_STATUS_CHANGED:
            return _("%(actor)s moved “%(task)s” from %(from)s to %(to)s.") % {
                "actor": actor,
                "task": task,
                "from": _status_label(data.from_),
                "to": _status_label(data.to),
            }
        case EventType.TASK_UPDATED:
            return _("%(actor)s updated “%(task)s”.") % {"actor": actor, "task": task}
        case EventType.TASK_COMMENTED:
            return _("%(actor)s commented on “%(task)s”: %(excerpt)s") % {
                "actor": actor,
                "task": task,
                "excerpt": _excerpt(data.comment.body),
            }
        case EventType.TASK_DEADLINE_APPROACHING:
            if data.window == "1h":
                return _("“%(task)s” is due within the hour.") % {"task": task}
            return _("“%(task)s” is due within 24 hours.") % {"task": task}
        case EventType.TASK_OVERDUE:
            return _("“%(task)s” is overdue.") % {"task": task}
    raise ValueError(f"no message for event type {c.event_type}")


def _role_label(role: str) -> str:
    return str(Role(role).label).lower()
