"""What the bot shows: push messages (HTML, in the recipient's language and time zone, with
buttons) and the task/project shapes of the internal API. Every user-written text is escaped
here, once: the bot sends `text` as it is (parse mode HTML).

Callback data (at most 64 bytes; docs/telegram.md): `ts:<task>:<status>` moves a task from a
push, `cm:<task>` starts a comment, `iv:<a|d>:<invite>` answers an invite."""

import html
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from mailing import links
from notifications.messages import MessageContext, render_message
from taskflow_contracts import EventType
from taskflow_contracts.events import EventBase, event_type_adapter

from accounts.models import User
from projects.models import Invite, InviteStatus, Membership, Project, Role, role_at_least
from projects.selectors import membership_role
from tasks.models import Task, TaskPriority, TaskStatus

Buttons = list[list[dict[str, str]]]


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: Buttons


def escape(text: object) -> str:
    return html.escape(str(text), quote=False)


def public_link_allowed() -> bool:
    """Telegram refuses inline URL buttons to loopback and private addresses (and plain
    `localhost`): with such a PUBLIC_URL the link goes in the text instead."""
    host = urlsplit(settings.PUBLIC_URL).hostname or ""
    if host == "localhost" or host.endswith(".localhost") or "." not in host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global


def deadline_display(value: Any, user: User) -> str:
    """A deadline in the user's time zone and language, with the zone named."""
    if value is None:
        return ""
    local = timezone.localtime(value, ZoneInfo(user.timezone))
    return f"{date_format(local, 'DATE_FORMAT')} {date_format(local, 'TIME_FORMAT')} ({user.timezone})"


def _statuses_for(task: Task, can_edit: bool) -> list[dict[str, str]]:
    if not can_edit:
        return []
    return [{"value": value, "label": str(label)} for value, label in TaskStatus.choices if value != task.status]


def task_payload(task: Task, user: User, *, role: str | None = None) -> dict[str, Any]:
    """A task as the internal API shows it to `user` (in the active language)."""
    if role is None:
        role = membership_role(project=task.project, user=user)
    can_edit = role_at_least(role, Role.MEMBER)
    return {
        "id": task.pk,
        "title": task.title,
        "status": task.status,
        "status_label": str(TaskStatus(task.status).label),
        "priority": task.priority,
        "priority_label": str(TaskPriority(task.priority).label),
        "deadline": task.deadline.isoformat() if task.deadline else None,
        "deadline_display": deadline_display(task.deadline, user),
        "project": {"id": task.project_id, "name": task.project.name},
        "url": links.task_url(task.pk),
        "can_edit": can_edit,
        "statuses": _statuses_for(task, can_edit),
    }


class _Named:
    """Stands in for a task or project that no longer exists: its name as the event recorded it."""

    def __init__(self, *, title: str = "", name: str = "") -> None:
        self.title, self.name = title, name


def _task_buttons(task: Task, user: User, role: str | None) -> Buttons:
    rows: Buttons = []
    can_edit = role_at_least(role, Role.MEMBER)
    statuses = _statuses_for(task, can_edit)
    if statuses:
        rows.append([{"text": s["label"], "callback_data": f"ts:{task.pk}:{s['value']}"} for s in statuses])
    actions = []
    if can_edit:
        actions.append({"text": _("Comment"), "callback_data": f"cm:{task.pk}"})
    if public_link_allowed():
        actions.append({"text": _("Open task"), "url": links.task_url(task.pk)})
    if actions:
        rows.append(actions)
    return rows


def task_details(task: Task, user: User) -> str:
    """The line under a task's headline: project · status · priority · deadline."""
    parts = [
        escape(task.project.name),
        escape(TaskStatus(task.status).label),
        escape(TaskPriority(task.priority).label),
    ]
    if task.deadline is not None:
        parts.append(escape(_("due %(deadline)s") % {"deadline": deadline_display(task.deadline, user)}))
    return " · ".join(parts)


def task_link(task_id: int) -> str:
    return f'<a href="{html.escape(links.task_url(task_id))}">{escape(_("Open task"))}</a>'


@dataclass
class RenderContext:
    """What rendering a batch of deliveries reads, loaded in one query per kind (tasks with their
    projects, the recipients' roles, projects, invites) instead of a few per delivery."""

    tasks: dict[int, Task]
    roles: dict[tuple[int, int], str]
    projects: dict[int, Project]
    invites: dict[int, tuple[str, Any]]

    @classmethod
    def load(cls, items: list[tuple[Any, User]]) -> "RenderContext":
        """`items`: (envelope data as a dict, recipient) pairs."""
        task_ids = {data["task"]["id"] for data, _user in items if "task" in data}
        project_ids = {data["project"]["id"] for data, _user in items if "project" in data}
        invite_ids = {data["invite"]["id"] for data, _user in items if "invite" in data}
        tasks = {task.pk: task for task in Task.objects.select_related("project").filter(pk__in=task_ids)}
        user_ids = {user.pk for _data, user in items}
        projects_of_interest = {task.project_id for task in tasks.values()}
        roles = {
            (project_id, user_id): role
            for project_id, user_id, role in Membership.objects.filter(
                project_id__in=projects_of_interest, user_id__in=user_ids
            ).values_list("project_id", "user_id", "role")
        }
        projects = (
            {project.pk: project for project in Project.objects.filter(pk__in=project_ids)} if project_ids else {}
        )
        invites = (
            {
                pk: (status, expires)
                for pk, status, expires in Invite.objects.filter(pk__in=invite_ids).values_list(
                    "pk", "status", "expires_at"
                )
            }
            if invite_ids
            else {}
        )
        return cls(tasks=tasks, roles=roles, projects=projects, invites=invites)


def render_delivery(envelope: dict[str, Any], user: User, context: RenderContext) -> Rendered:
    """The push for one delivery, as `user` reads it now: their language and time zone, the
    task's current title, status and buttons (none once the task is gone or they left it).
    `context` is the batch's RenderContext (loaded once for every delivery claimed together)."""
    event: EventBase = event_type_adapter.validate_python(envelope)
    data: Any = getattr(event, "data")  # noqa: B009 (every event type has data; the base declares none)
    with translation.override(user.language):
        task = project = None
        role: str | None = None
        if hasattr(data, "task"):
            task = context.tasks.get(data.task.id)
            if task is not None:
                project = task.project
                role = context.roles.get((project.pk, user.pk))
                if role is None:  # no longer a member: only what the event said
                    task = project = None
        elif hasattr(data, "project"):
            project = context.projects.get(data.project.id)
        message_context = MessageContext(
            event_type=event.type,  # type: ignore[attr-defined]
            actor_name=event.actor.name if event.actor is not None else None,
            data=data,
            task=task or (_Named(title=data.task.title) if hasattr(data, "task") else None),
            project=project or (_Named(name=data.project.name) if hasattr(data, "project") else None),
        )
        lines = [f"<b>{escape(render_message(message_context, user))}</b>"]
        buttons: Buttons = []
        if task is not None:
            lines.append(task_details(task, user))
            if not public_link_allowed():
                lines.append(task_link(task.pk))
            buttons = _task_buttons(task, user, role)
        elif event.type == EventType.PROJECT_INVITED:  # type: ignore[attr-defined]
            buttons = _invite_buttons(context.invites.get(data.invite.id), data.invite.id)
        return Rendered(text="\n".join(lines), buttons=buttons)


def _invite_buttons(invite: tuple[str, Any] | None, invite_id: int) -> Buttons:
    if invite is None or invite[0] != InviteStatus.PENDING or invite[1] <= timezone.now():
        return []
    return [
        [
            {"text": _("Accept"), "callback_data": f"iv:a:{invite_id}"},
            {"text": _("Decline"), "callback_data": f"iv:d:{invite_id}"},
        ]
    ]
