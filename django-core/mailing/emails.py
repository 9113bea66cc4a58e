"""What each email says: subject, plain-text and HTML parts (Django templates under
templates/mailing/) and headers, rendered in the recipient's language and time zone.

Threading: every mail about one task carries `In-Reply-To` / `References` naming the task's
thread (`<task-{id}@{domain}>`) and the same subject, so mail clients show one conversation per
task. Each mail's own `Message-ID` is derived from (event, address): a retried send keeps it.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from notifications.messages import MessageContext, render_message
from notifications.preferences import EMAILED_TYPES
from taskflow_contracts import EventType
from taskflow_contracts.events import EventBase

from accounts.models import AccountToken, AccountTokenPurpose, User
from accounts.services import account_token_value
from mailing import links
from mailing.selectors import Digest
from projects.models import Invite, InviteStatus, Role
from projects.services import invite_token
from tasks.models import Task

# The event types that are mailed (their recipients' `email` channel), and the digest.
TASK_EVENT_TYPES = (EventType.TASK_ASSIGNED, EventType.TASK_DEADLINE_APPROACHING, EventType.TASK_OVERDUE)
# What is mailed is what preferences offer email for: one list (notifications.preferences).
MAILED_EVENT_TYPES = EMAILED_TYPES
DIGEST_KIND = "digest"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def mail_domain() -> str:
    """The domain of message ids: DEFAULT_FROM_EMAIL's."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "taskflow.localhost"


def message_id_for(key: uuid.UUID, address: str) -> str:
    recipient = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
    return f"<{key}.{recipient}@{mail_domain()}>"


def task_thread_id(task_id: int) -> str:
    return f"<task-{task_id}@{mail_domain()}>"


def recipient_language(*, user: User | None, event: EventBase | None = None) -> str:
    """The user's language; for an address without an account (an invite), the inviter's, on the
    guess that a team invites people who read its language; else the default."""
    if user is not None:
        return user.language
    if event is not None and event.actor is not None:
        language = User.objects.filter(pk=event.actor.id).values_list("language", flat=True).first()
        if language:
            return language
    return settings.LANGUAGE_CODE


def _render(name: str, context: dict[str, Any], *, language: str, zone: str, address: str) -> tuple[str, str]:
    """(text, html) of templates/mailing/<name>.txt and .html, rendered in the language and time
    zone given (dates in templates are shown in `zone`)."""
    context = {**context, "language": language, "time_zone": zone, "address": address, "app_url": links.app_url()}
    with translation.override(language), timezone.override(zone):
        text = str(render_to_string(f"mailing/{name}.txt", context))
        html = str(render_to_string(f"mailing/{name}.html", context))
    # Template tags leave blank lines behind; plain text reads better without runs of them.
    text = re.sub(r"\n[ \t]*(?:\n[ \t]*){2,}", "\n\n", text).strip() + "\n"
    return text, html


def _list_headers(*, with_preferences: bool) -> dict[str, str]:
    headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    if with_preferences:
        headers["List-Unsubscribe"] = f"<{links.preferences_url()}>"
    return headers


def compose_event_email(event: EventBase, *, user: User | None, address: str) -> Email | None:
    """The email of one event for one recipient (`user`, or only an address for an invite to
    someone without an account); None when there is nothing to send any more (the invite was
    answered or replaced, the task deleted)."""
    language = recipient_language(user=user, event=event)
    zone = user.timezone if user is not None else "UTC"
    headers = {**_list_headers(with_preferences=user is not None), "Message-ID": message_id_for(event.id, address)}
    context: dict[str, Any]
    actor_name = event.actor.name if event.actor is not None else None
    data: Any = event.data
    reader = user if user is not None else User(language=language)

    if event.type == EventType.PROJECT_INVITED:
        invite = Invite.objects.select_related("project").filter(pk=data.invite.id).first()
        if invite is None or invite.status != InviteStatus.PENDING or invite.is_expired() or not invite.token_salt:
            return None
        context = {
            "headline": render_message(MessageContext(event.type, actor_name, data, project=invite.project), reader),
            "recipient": user,
            "invite": invite,
            "accept_url": links.invite_accept_url(invite_token(invite=invite)),
            "preferences_url": links.preferences_url() if user is not None else None,
        }
        with translation.override(language):
            subject = _("%(actor)s invited you to “%(project)s” on TaskFlow") % {
                "actor": actor_name or "TaskFlow",
                "project": invite.project.name,
            }
            context["role"] = str(Role(invite.role).label).lower()
        text, html = _render("invite", context, language=language, zone=zone, address=address)
        return Email(subject=subject, text=text, html=html, headers=headers)

    if event.type in TASK_EVENT_TYPES:
        task = Task.objects.select_related("project", "assignee").filter(pk=data.task.id).first()
        if task is None:
            return None
        with translation.override(language):
            # Read while the reader's language is active: translated titles and names.
            title, project_name = str(task.title), str(task.project.name)
            headline = render_message(MessageContext(event.type, actor_name, data, task=task), reader)
        context = {
            "headline": headline,
            "recipient": user,
            "task": task,
            "title": title,
            "project_name": project_name,
            "event_type": event.type,
            "task_url": links.task_url(task.pk),
            "preferences_url": links.preferences_url(),
        }
        text, html = _render("task_event", context, language=language, zone=zone, address=address)
        thread = task_thread_id(task.pk)
        headers.update({"In-Reply-To": thread, "References": thread})
        # One subject per task (as the thread's), so clients that thread by subject agree.
        subject = f"[{project_name}] {title} (#{task.pk})"
        return Email(subject=subject, text=text, html=html, headers=headers)

    raise ValueError(f"event type {event.type} is not mailed")


def compose_digest_email(digest: Digest, *, user: User, day: date, key: uuid.UUID) -> Email | None:
    """The daily digest; None when it would be empty (nothing is sent)."""
    if digest.is_empty():
        return None
    language, zone = user.language, user.timezone

    def rows(tasks: list[Task]) -> list[dict[str, Any]]:
        with translation.override(language):
            return [
                {
                    "task": task,
                    "title": str(task.title),
                    "project_name": str(task.project.name),
                    "url": links.task_url(task.pk),
                }
                for task in tasks
            ]

    context = {
        "recipient": user,
        "day": day,
        "overdue": rows(digest.overdue),
        "due_soon": rows(digest.due_soon),
        "assigned": rows(digest.assigned),
        # A task may be in more than one section: count it once.
        "open_count": len({task.pk for task in [*digest.overdue, *digest.due_soon, *digest.assigned]}),
        "preferences_url": links.preferences_url(),
    }
    text, html = _render("digest", context, language=language, zone=zone, address=user.email)
    with translation.override(language):
        subject = _("Your TaskFlow digest for %(date)s") % {"date": date_format(day, "DATE_FORMAT")}
    headers = {**_list_headers(with_preferences=True), "Message-ID": message_id_for(key, user.email)}
    return Email(subject=subject, text=text, html=html, headers=headers)


def compose_account_email(token: AccountToken, *, key: uuid.UUID) -> Email | None:
    """The mail of an account token (verify the address, reset the password), in the user's
    language; None when it is not worth sending any more (used, expired, the account
    deactivated, the address verified meanwhile)."""
    user = token.user
    if token.used_at is not None or token.is_expired() or not user.is_active:
        return None
    verifying = token.purpose == AccountTokenPurpose.VERIFY_EMAIL
    if verifying and user.email_verified:
        return None
    value = account_token_value(salt=token.salt)
    language = user.language
    context = {
        "recipient": user,
        "link": links.verify_email_url(value) if verifying else links.reset_password_url(value),
        "expires_at": token.expires_at,
    }
    name = "verify_email" if verifying else "password_reset"
    text, html = _render(name, context, language=language, zone=user.timezone, address=user.email)
    with translation.override(language):
        subject = _("Confirm your email address for TaskFlow") if verifying else _("Reset your TaskFlow password")
    headers = {**_list_headers(with_preferences=False), "Message-ID": message_id_for(key, user.email)}
    return Email(subject=subject, text=text, html=html, headers=headers)
