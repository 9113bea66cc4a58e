"""Writes for tasks, watchers and comments. Keyword-only, atomic, permission-checked."""

import logging
from datetime import datetime
from typing import Any, overload

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from notifications import events
from pydantic import BaseModel
from rest_framework import exceptions
from taskflow_contracts import EventType
from taskflow_contracts.events import (
    CommentRef,
    TaskAssignedData,
    TaskCommentedData,
    TaskCreatedData,
    TaskDeletedData,
    TaskMovedData,
    TaskStatusChangedData,
    TaskUnassignedData,
    TaskUpdatedData,
)

from accounts.models import User
from common.translation import translated_field_names
from projects.models import Project, Role, role_at_least
from projects.services import project_require_role
from tasks import ranking
from tasks.models import Comment, Task, TaskStatus, TaskWatcher

logger = logging.getLogger(__name__)


_ASSIGNEE_ROLE_SQL = (
    "SELECT 1 FROM projects_project WHERE id = %s FOR KEY SHARE; "
    "SELECT role FROM projects_membership WHERE project_id = %s AND user_id = %s"
)

# The last rank of a column (what _bottom_rank's ORM query reads), to go in the same round trip.
_COLUMN_END_SQL = "SELECT rank FROM tasks_task WHERE project_id = %s AND status = %s ORDER BY rank DESC LIMIT 1"


@overload
def task_assignee_validate(*, project: Project, assignee: User | None, column: None = None) -> None: ...
@overload
def task_assignee_validate(*, project: Project, assignee: User | None, column: str) -> str: ...
def task_assignee_validate(*, project: Project, assignee: User | None, column: str | None = None) -> str | None:
    """An assignee must be a member of the project with at least the member role (viewers are
    read-only and could not move their own task). With `column` (a status), also answers the
    rank below every task of that column (_bottom_rank), read in the same round trip: a new
    task's check and its place cost one round trip, not two.

    Precondition: inside the transaction that writes the assignment. The project row stays
    share-locked (FOR KEY SHARE) until it commits, so the assignee cannot leave the project or be
    demoted in between: membership changes lock the row FOR UPDATE (see tasks_release_member and
    projects.services), which waits for this lock and which this lock waits for. Assignments in
    the same project do not wait for each other: the lock is the one the task's own foreign key
    takes. Lock order: the project, then the task."""
    if assignee is None:
        return None if column is None else _bottom_rank(project_id=project.pk, status=column)
    with connection.cursor() as cursor:
        # Django's select_for_update has no FOR KEY SHARE. The lock is a statement of its own, so
        # that the membership read after it takes its snapshot after any removal we waited for
        # committed; both go in one round trip (one on every assigning write).
        if column is None:
            cursor.execute(_ASSIGNEE_ROLE_SQL, [project.pk, project.pk, assignee.pk])
        else:
            cursor.execute(
                f"{_ASSIGNEE_ROLE_SQL}; {_COLUMN_END_SQL}", [project.pk, project.pk, assignee.pk, project.pk, column]
            )
        cursor.nextset()
        row = cursor.fetchone()
        last = None
        if column is not None:
            cursor.nextset()
            found = cursor.fetchone()
            last = found[0] if found else None
    role = row[0] if row else None
    if not role_at_least(role, Role.MEMBER):
        raise exceptions.ValidationError(
            {"assignee": [_("The assignee must be a member (not a viewer) of the task's project.")]}
        )
    return None if column is None else _rank_after(last)


def _task_event(
    event_type: EventType, *, task: Task, actor: User, data: BaseModel, include: list[User | None] | None = None
) -> events.Emit:
    """A task event to the task's audience (assignee, reporter, watchers, commenters)."""
    audience = events.Audience(users=events.task_audience(task=task, include=include or []))
    return events.Emit(event_type=event_type, actor=actor, data=data, audience=audience, task=task)


def _emit(
    event_type: EventType, *, task: Task, actor: User, data: BaseModel, include: list[User | None] | None = None
) -> None:
    """Emits a task event to the task's audience."""
    events.events_emit([_task_event(event_type, task=task, actor=actor, data=data, include=include)])


def _watch(task: Task, users: list[User | None]) -> None:
    TaskWatcher.objects.bulk_create(
        [TaskWatcher(task=task, user=user) for user in {u for u in users if u is not None}],
        ignore_conflicts=True,
    )


def task_create(
    *,
    actor: User,
    project: Project,
    title: str = "",
    description: str = "",
    translations: dict[str, str] | None = None,
    status: str = TaskStatus.TODO,
    priority: str = "medium",
    assignee: User | None = None,
    deadline: datetime | None = None,
    staff: bool = False,
) -> Task:
    """Creates a task reported by `actor` (member+, or staff: see projects.services.
    project_require_role). Reporter and assignee start watching it."""
    project_require_role(project=project, user=actor, minimum=Role.MEMBER, staff=staff)
    with transaction.atomic():
        rank = task_assignee_validate(project=project, assignee=assignee, column=status)
        task = Task(
            project=project,
            title=title,
            description=description,
            status=status,
            priority=priority,
            assignee=assignee,
            reporter=actor,
            deadline=deadline,
            rank=rank,
            assigned_at=timezone.now() if assignee is not None else None,
            completed_at=timezone.now() if status == TaskStatus.DONE else None,
        )
        for field, value in (translations or {}).items():
            setattr(task, field, value)
        task.save()
        _watch(task, [actor, assignee])
        # A new task's audience is known without a query: its reporter (the actor) and its
        # assignee (a member, checked above); nobody else watches it or commented yet. The
        # assignee hears of it through task.assigned, not twice.
        ref = events.task_ref(task)
        emits = [
            events.Emit(
                event_type=EventType.TASK_CREATED,
                actor=actor,
                data=TaskCreatedData(task=ref),
                audience=events.Audience(users=[]),
                task=task,
            )
        ]
        if assignee is not None:
            emits.append(
                events.Emit(
                    event_type=EventType.TASK_ASSIGNED,
                    actor=actor,
                    data=TaskAssignedData(task=ref, assignee=events.user_ref(assignee)),
                    audience=events.Audience(users=[assignee] if assignee.is_active else []),
                    task=task,
                )
            )
        # Both in one round trip and one publish (events_emit).
        events.events_emit(emits)
    return task


def task_update(*, task: Task, actor: User, fields: dict[str, Any], staff: bool = False) -> Task:
    """Edits a task (member+, or staff: see projects.services.project_require_role). `fields` may
    hold title, description (both in the active language), their per-language columns, status,
    priority, deadline and `assignee` (a User or None)."""
    project_require_role(project=task.project, user=actor, minimum=Role.MEMBER, staff=staff)
    with transaction.atomic():
        if "assignee" in fields:
            task_assignee_validate(project=task.project, assignee=fields["assignee"])
        task = Task.objects.select_for_update(of=("self",)).select_related("project", "assignee").get(pk=task.pk)
        before = {field: getattr(task, field) for field in ("status", "assignee_id", *_CONTENT_FIELDS)}
        previous_assignee = task.assignee
        new_status = fields.get("status", task.status)
        if new_status != task.status:
            task.completed_at = timezone.now() if new_status == TaskStatus.DONE else None
            # A status changed without a place (PATCH, the admin, the bot) joins the column's end.
            task.rank = _bottom_rank(project_id=task.project_id, status=new_status)
        for field, value in fields.items():
            setattr(task, field, value)
        if task.assignee_id != before["assignee_id"]:
            task.assigned_at = timezone.now() if task.assignee_id is not None else None
        if not any(getattr(task, column) for column in translated_field_names("title")):
            raise exceptions.ValidationError({"title": [_("A task needs a title.")]})
        task.save()
        if fields.get("assignee") is not None:
            _watch(task, [fields["assignee"]])
        _emit_changes(task=task, actor=actor, before=before, previous_assignee=previous_assignee)
    return task


# What `task.updated` reports as changed: a translated field counts once, by its plain name.
_CONTENT_FIELDS = ("priority", "deadline", *translated_field_names("title", "description"))


def _emit_changes(*, task: Task, actor: User, before: dict[str, Any], previous_assignee: User | None) -> None:
    """The events of one edit: (un)assignment, status change, other changes — in that order, in
    one round trip and one publish (events_emit). Each audience is read before any of them is
    written, as writing an event changes no audience (watchers and comments)."""
    ref = events.task_ref(task)
    emits: list[events.Emit] = []
    if task.assignee_id != before["assignee_id"]:
        if task.assignee is not None:
            assigned = TaskAssignedData(
                task=ref, assignee=events.user_ref(task.assignee), previous_assignee_id=before["assignee_id"]
            )
            emits.append(_task_event(EventType.TASK_ASSIGNED, task=task, actor=actor, data=assigned))
        if previous_assignee is not None:
            unassigned = TaskUnassignedData(task=ref, previous_assignee=events.user_ref(previous_assignee))
            emits.append(
                _task_event(
                    EventType.TASK_UNASSIGNED, task=task, actor=actor, data=unassigned, include=[previous_assignee]
                )
            )
    if task.status != before["status"]:
        moved = TaskStatusChangedData(task=ref, from_=before["status"], to=task.status)
        emits.append(_task_event(EventType.TASK_STATUS_CHANGED, task=task, actor=actor, data=moved))
    changed = sorted(
        {
            field.split("_")[0] if field.startswith(("title_", "description_")) else field
            for field in _CONTENT_FIELDS
            if getattr(task, field) != before[field]
        }
    )
    if changed:
        updated = TaskUpdatedData(task=ref, changes=changed)
        emits.append(_task_event(EventType.TASK_UPDATED, task=task, actor=actor, data=updated))
    if emits:
        events.events_emit(emits)


def task_delete(*, task: Task, actor: User, staff: bool = False) -> None:
    """Deletes a task: its reporter (still member+), a project admin or staff (see
    projects.services.project_require_role)."""
    role = project_require_role(project=task.project, user=actor, minimum=Role.MEMBER, staff=staff)
    if task.reporter_id != actor.pk and not role_at_least(role, Role.ADMIN):
        raise exceptions.PermissionDenied(
            _("Only the reporter or a project admin may delete a task."), "insufficient_role"
        )
    with transaction.atomic():
        # Told before the rows go: the audience is read from the task's watchers and comments.
        _emit(EventType.TASK_DELETED, task=task, actor=actor, data=TaskDeletedData(task=events.task_ref(task)))
        task.delete()


def task_move(
    *,
    task: Task,
    actor: User,
    status: str | None = None,
    after_id: int | None = None,
    before_id: int | None = None,
    staff: bool = False,
) -> Task:
    """Places a task in the column `status` (default: its own) right below the task `after_id`
    and/or right above `before_id`, or at the column's end when neither is given; member+ (or
    staff). One row changes, the moved task (tasks.ranking), unless the column must be
    rebalanced first. A change of column is `task.status_changed` (the audience is told); a
    place within the column is `task.moved` (boards only)."""
    project_require_role(project=task.project, user=actor, minimum=Role.MEMBER, staff=staff)
    with transaction.atomic():
        task = Task.objects.select_for_update(of=("self",)).select_related("project", "assignee").get(pk=task.pk)
        target = status or task.status
        column = Task.objects.filter(project_id=task.project_id, status=target).exclude(pk=task.pk)
        after = _neighbour(column, "after", after_id)
        before = _neighbour(column, "before", before_id)
        rank = _rank_between(column, after, before)
        if rank is None or len(rank) > ranking.KEY_LENGTH_LIMIT:
            _rebalance(column, actor=actor)
            after = _neighbour(column, "after", after_id)
            before = _neighbour(column, "before", before_id)
            rank = _rank_between(column, after, before)
            if rank is None:
                raise exceptions.ValidationError({"before": [_("This task is not right below the other one.")]})
        previous_status = task.status
        if rank == task.rank and target == previous_status:
            return task
        task.rank = rank
        if target != previous_status:
            task.status = target
            task.completed_at = timezone.now() if target == TaskStatus.DONE else None
        task.save(update_fields=["rank", "status", "completed_at", "updated_at"])
        ref = events.task_ref(task)
        if target != previous_status:
            _emit(
                EventType.TASK_STATUS_CHANGED,
                task=task,
                actor=actor,
                data=TaskStatusChangedData(task=ref, from_=previous_status, to=target),
            )
        else:
            _emit_moved(task=task, actor=actor)
    return task


def _neighbour(column: Any, name: str, task_id: int | None) -> tuple[str, int] | None:
    """(rank, id) of a neighbour named by the client, read now; a 400 naming the field when it is
    not a task of that column (or is the moved task itself)."""
    if task_id is None:
        return None
    found = column.filter(pk=task_id).values_list("rank", "id").first()
    if found is None:
        raise exceptions.ValidationError({name: [_("Pick a task of the column the task goes to.")]})
    return found


def _rank_between(column: Any, after: tuple[str, int] | None, before: tuple[str, int] | None) -> str | None:
    """A rank right below `after` and above `before` (or the task next to either in the column);
    None when there is no room (equal ranks, or `before` is not below `after`)."""
    if after is not None and before is None:
        rank, pk = after
        before = (
            column.filter(Q(rank__gt=rank) | Q(rank=rank, pk__gt=pk))
            .order_by("rank", "id")
            .values_list("rank", "id")
            .first()
        )
    elif before is not None and after is None:
        rank, pk = before
        after = (
            column.filter(Q(rank__lt=rank) | Q(rank=rank, pk__lt=pk))
            .order_by("-rank", "-id")
            .values_list("rank", "id")
            .first()
        )
    elif after is None and before is None:
        after = column.order_by("-rank", "-id").values_list("rank", "id").first()
    try:
        return ranking.key_between(after[0] if after else None, before[0] if before else None)
    except ranking.RankError:
        return None


def _bottom_rank(*, project_id: int, status: str) -> str:
    """A rank below every task of the column (concurrent writers may tie: the id breaks it)."""
    last = Task.objects.filter(project_id=project_id, status=status).order_by("-rank").values_list("rank", flat=True)
    return _rank_after(last.first())


def _rank_after(last: str | None) -> str:
    """A rank below `last`, a column's last rank (None: an empty column)."""
    try:
        return ranking.key_between(last, None)
    except ranking.RankError:  # a rank written by hand (the admin shows it read-only)
        return ranking.key_between(None, None)


def _rebalance(column: Any, *, actor: User) -> None:
    """Gives every task of the column a short rank, in its current order, each announced as
    task.moved. Rare: only when ranks tie or a gap was split into ~300 moves."""
    tasks = list(column.select_for_update().order_by("rank", "id"))
    for task, rank in zip(tasks, ranking.keys_in_order(len(tasks)), strict=True):
        if task.rank != rank:
            task.rank = rank
            task.save(update_fields=["rank"])
            _emit_moved(task=task, actor=actor)
    logger.info("rebalanced the ranks of %d tasks (project=%s)", len(tasks), tasks[0].project_id if tasks else None)


def _emit_moved(*, task: Task, actor: User) -> None:
    """task.moved: for boards only; nobody is notified of a card's place."""
    events.event_emit(
        event_type=EventType.TASK_MOVED,
        actor=actor,
        data=TaskMovedData(task=events.task_ref(task)),
        audience=events.Audience(users=[]),
        task=task,
    )


def task_watch(*, task: Task, user: User) -> None:
    project_require_role(project=task.project, user=user, minimum=Role.VIEWER)
    with transaction.atomic():
        _watch(task, [user])


def task_unwatch(*, task: Task, user: User) -> None:
    project_require_role(project=task.project, user=user, minimum=Role.VIEWER)
    with transaction.atomic():
        TaskWatcher.objects.filter(task=task, user=user).delete()


def comment_create(*, task: Task, author: User, body: str, staff: bool = False) -> Comment:
    """Adds a comment (member+, or staff: see projects.services.project_require_role); the author
    starts watching the task."""
    project_require_role(project=task.project, user=author, minimum=Role.MEMBER, staff=staff)
    with transaction.atomic():
        comment = Comment.objects.create(task=task, author=author, body=body)
        _watch(task, [author])
        _emit(
            EventType.TASK_COMMENTED,
            task=task,
            actor=author,
            data=TaskCommentedData(
                task=events.task_ref(task), comment=CommentRef(id=comment.pk, body=body, author_id=author.pk)
            ),
        )
    return comment


def tasks_release_member(*, project: Project, user: User, actor: User) -> int:
    """When `user` leaves `project`: their tasks there are unassigned and their watches dropped.
    Precondition: called inside the transaction that removes the membership. The project row is
    locked first: an assignment in flight (which holds it, see task_assignee_validate) commits
    before the tasks are released, and a later one waits for the removal, then finds no member."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()
    released = Task.objects.filter(project=project, assignee=user).update(
        assignee=None, assigned_at=None, updated_at=timezone.now()
    )
    TaskWatcher.objects.filter(task__project=project, user=user).delete()
    logger.info(
        "member left project=%s user=%s: %d tasks unassigned (by user=%s)", project.pk, user.pk, released, actor.pk
    )
    return released


def comment_update(*, comment: Comment, actor: User, body: str, staff: bool = False) -> Comment:
    """Changes a comment's body: its author only, who must still be member+ of the project (or
    staff, for whom membership is not checked: see projects.services.project_require_role; the
    author rule holds for staff too). The same body again changes nothing. No event: an edit is
    not news to the task's audience. The task's history shows the comment's text as it is now."""
    project_require_role(project=comment.task.project, user=actor, minimum=Role.MEMBER, staff=staff)
    if comment.author_id != actor.pk:
        raise exceptions.PermissionDenied(_("Only its author may edit a comment."), "not_author")
    with transaction.atomic():
        comment = _comment_lock(comment)
        if comment.body != body:
            comment.body = body
            comment.edited_at = timezone.now()
            comment.save(update_fields=["body", "edited_at", "updated_at"])
            _comment_activity_rewrite(comment=comment, body=body)
    return comment


def comment_delete(*, comment: Comment, actor: User, staff: bool = False) -> None:
    """Deletes a comment: its author (still member+), a project admin or owner, or staff (see
    projects.services.project_require_role). No event. The task's history keeps that a comment
    was made, without its text."""
    role = project_require_role(project=comment.task.project, user=actor, minimum=Role.MEMBER, staff=staff)
    if comment.author_id != actor.pk and not role_at_least(role, Role.ADMIN):
        raise exceptions.PermissionDenied(
            _("Only its author or a project admin may delete a comment."), "insufficient_role"
        )
    with transaction.atomic():
        comment = _comment_lock(comment)
        _comment_activity_rewrite(comment=comment, body="")
        comment.delete()


def _comment_lock(comment: Comment) -> Comment:
    """The comment's row, locked, with its author and task: NotFound if it was deleted since it
    was looked up. Edit and delete both take this lock before the history entry's, in that order,
    so an edit and a delete of one comment wait for each other instead of deadlocking."""
    locked = Comment.objects.select_for_update(of=("self",)).select_related("author", "task").filter(pk=comment.pk)
    found = locked.first()
    if found is None:
        raise exceptions.NotFound()
    return found


def _comment_activity_rewrite(*, comment: Comment, body: str) -> None:
    """The comment's text in the `task.commented` history entry of the comment (its `data` is the
    event's, which quoted the body): an edited or deleted text does not live on there."""
    entries = comment.task.activity.filter(type=EventType.TASK_COMMENTED, data__comment__id=comment.pk)
    for entry in entries.select_for_update():
        entry.data = {**entry.data, "comment": {**entry.data["comment"], "body": body}}
        entry.save(update_fields=["data"])
