"""Message texts and keyboards built from django-core's answers (HTML parse mode).

Everything that came from a user (task titles, project names, people's names, error details)
goes through `html.escape`; labels django-core rendered for the user's language are escaped too,
they are plain text. Pushes are the exception: django-core renders their HTML itself.
"""

import html
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from taskflow_bot.i18n import LANGUAGE_NAMES, _, current_language, ngettext, supported_languages

# Telegram refuses callback data over 64 bytes; such a button is left out rather than failing
# the whole message.
CALLBACK_DATA_LIMIT = 64
# Marks the line the bot appends to a push after a status button was pressed, so pressing
# another one replaces that line instead of adding a second.
STATUS_NOTE_MARK = "\n\n✅ "
# django-core's page size of GET /internal/telegram/tasks (docs/telegram.md), for numbering.
TASKS_PER_PAGE = 5


def escape(value: Any) -> str:
    return html.escape(str(value if value is not None else ""), quote=False)


def link_help() -> str:
    return _(
        "This chat is not linked to a TaskFlow account yet. In the TaskFlow web client open "
        "Settings → Profile → Link Telegram, then tap the link it gives you."
    )


def help_text(account: dict[str, Any] | None) -> str:
    lines = []
    if account is None:
        lines += [_("Hello! I am the TaskFlow bot."), "", link_help(), ""]
    else:
        lines += [_("Hello, %(name)s!") % {"name": escape(account.get("name"))}, ""]
    lines += [
        _("What I can do:"),
        _("/mytasks: your open tasks, with buttons to change their status"),
        _("/projects: your projects"),
        _("/language: choose the language I speak"),
        _("/unlink: unlink this chat from your account"),
        _("/cancel: stop writing a comment"),
        _("/help: this message"),
        "",
        _("Reply to a task notification to comment on the task."),
    ]
    return "\n".join(lines)


def greeting(user: dict[str, Any], *, moved: bool) -> str:
    text = _("Hello, %(name)s! This chat is now linked to your TaskFlow account.") % {"name": escape(user.get("name"))}
    if moved:
        text += "\n" + _("It was linked to another account before; that link is removed.")
    return text + "\n\n" + _("Send /help to see what I can do.")


def unavailable_text() -> str:
    return _("TaskFlow is unavailable right now, try again in a minute.")


def _checked_button(text: str, callback_data: str) -> InlineKeyboardButton | None:
    if len(callback_data.encode()) > CALLBACK_DATA_LIMIT:
        return None
    return InlineKeyboardButton(text=text, callback_data=callback_data)


def task_line(index: int, task: dict[str, Any]) -> str:
    project = task.get("project") or {}
    parts = [
        f"<b>{index}. {escape(task.get('title'))}</b>",
        f"{escape(project.get('name'))} · {escape(task.get('status_label'))} · {escape(task.get('priority_label'))}",
    ]
    if task.get("deadline_display"):
        parts.append(_("Deadline: %(deadline)s") % {"deadline": escape(task["deadline_display"])})
    if task.get("url"):
        label = escape(_("Open in TaskFlow"))
        parts.append(f'<a href="{html.escape(str(task["url"]), quote=True)}">{label}</a>')
    return "\n".join(parts)


def my_tasks(answer: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /mytasks page: text and keyboard (status buttons per task, then the page buttons)."""
    tasks: list[dict[str, Any]] = answer.get("results") or []
    page, pages, count = int(answer.get("page") or 1), int(answer.get("pages") or 1), int(answer.get("count") or 0)
    if not tasks:
        return _("You have no open tasks. Well done!"), None
    header = ngettext("You have %(count)d open task.", "You have %(count)d open tasks.", count) % {"count": count}
    if pages > 1:
        header += " " + _("Page %(page)d of %(pages)d.") % {"page": page, "pages": pages}
    first = (page - 1) * TASKS_PER_PAGE + 1
    blocks = [header] + [task_line(first + offset, task) for offset, task in enumerate(tasks)]
    rows: list[list[InlineKeyboardButton]] = []
    for offset, task in enumerate(tasks):
        row = [
            button
            for status in task.get("statuses") or []
            if (
                button := _checked_button(
                    f"{first + offset}. {status['label']}", f"mt:{page}:{task['id']}:{status['value']}"
                )
            )
        ]
        if row:
            rows.append(row)
    paging = []
    if page > 1:
        paging.append(InlineKeyboardButton(text="← " + _("Previous"), callback_data=f"mp:{page - 1}"))
    if page < pages:
        paging.append(InlineKeyboardButton(text=_("Next") + " →", callback_data=f"mp:{page + 1}"))
    if paging:
        rows.append(paging)
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def projects(results: list[dict[str, Any]]) -> str:
    if not results:
        return _("You are not a member of any project yet.")
    lines = [_("Your projects:")]
    for project in results:
        open_tasks = int(project.get("open_tasks") or 0)
        count = ngettext("%(count)d open task", "%(count)d open tasks", open_tasks) % {"count": open_tasks}
        name = escape(project.get("name"))
        if project.get("url"):
            name = f'<a href="{html.escape(str(project["url"]), quote=True)}">{name}</a>'
        lines.append(f"• <b>{name}</b>: {escape(project.get('role_label'))}, {count}")
    return "\n".join(lines)


def language_keyboard() -> InlineKeyboardMarkup:
    current = current_language()
    buttons = [
        InlineKeyboardButton(
            text=("✓ " if code == current else "") + LANGUAGE_NAMES.get(code, code), callback_data=f"lg:{code}"
        )
        for code in supported_languages()
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def push_with_note(original_html: str, note: str) -> str:
    """A push's text after one of its buttons was pressed: the original, plus one line saying
    what happened (replacing the line a previous press added)."""
    base = original_html.split(STATUS_NOTE_MARK, 1)[0]
    return f"{base}{STATUS_NOTE_MARK}{note}"


def push_with_status(original_html: str, task: dict[str, Any]) -> str:
    return push_with_note(
        original_html, _("Status changed to %(status)s.") % {"status": escape(task.get("status_label"))}
    )


def push_keyboard_with_status(markup: InlineKeyboardMarkup | None, task: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """The push's keyboard with its `ts:` buttons replaced by the statuses the task can move to
    now; its other buttons (comment, open) stay."""
    rows: list[list[InlineKeyboardButton]] = []
    status_rows_at: int | None = None
    for row in markup.inline_keyboard if markup else []:
        kept = [b for b in row if not (b.callback_data or "").startswith("ts:")]
        if len(kept) != len(row) and status_rows_at is None:
            status_rows_at = len(rows)
        if kept:
            rows.append(kept)
    statuses = [
        button
        for status in task.get("statuses") or []
        if (button := _checked_button(str(status["label"]), f"ts:{task['id']}:{status['value']}"))
    ]
    if statuses:
        rows.insert(status_rows_at if status_rows_at is not None else 0, statuses)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def push_keyboard(buttons: list[list[dict[str, Any]]] | None) -> InlineKeyboardMarkup | None:
    """A claimed delivery's `buttons` (rows of `{text, callback_data}` or `{text, url}`)."""
    rows = []
    for row in buttons or []:
        built = []
        for spec in row:
            if spec.get("url"):
                built.append(InlineKeyboardButton(text=str(spec["text"]), url=str(spec["url"])))
            elif spec.get("callback_data"):
                built.append(InlineKeyboardButton(text=str(spec["text"]), callback_data=str(spec["callback_data"])))
        if built:
            rows.append(built)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def core_error_text(code: str, detail: str = "") -> str:
    """What to tell the user about an error answer of django-core."""
    if code == "not_linked":
        return link_help()
    if code == "not_found":
        return _("That is no longer available (it was deleted, or you are no longer a member).")
    if code in {"permission_denied", "insufficient_role"}:
        return _("You are not allowed to do that in this project.")
    if detail:
        return _("That did not work: %(detail)s") % {"detail": escape(detail)}
    return _("That did not work. Please try again.")
