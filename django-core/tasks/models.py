from typing import ClassVar

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from common.translation import translated_field_names


class TaskStatus(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    REVIEW = "review", _("Review")
    DONE = "done", _("Done")


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Workflow and urgency order, for `?ordering=status` / `?ordering=priority` (not alphabetical).
STATUS_RANK = {TaskStatus.TODO: 1, TaskStatus.IN_PROGRESS: 2, TaskStatus.REVIEW: 3, TaskStatus.DONE: 4}
PRIORITY_RANK = {TaskPriority.LOW: 1, TaskPriority.MEDIUM: 2, TaskPriority.HIGH: 3, TaskPriority.URGENT: 4}


def _trigram_index(field: str) -> GinIndex:
    # `icontains` compiles to UPPER(col) LIKE UPPER(%s) on PostgreSQL: index that expression.
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=f"tasks_task_{field}_trgm")


class Task(models.Model):
    # No index of its own for `project` and `assignee`: indexes below lead with them (each index
    # is one more entry to write on every insert).
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="tasks", db_index=False)
    # `title` and `description` are translated (tasks/translation.py): title_<lang> for each of LANGUAGES
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True, default="", max_length=20_000)
    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO)
    priority = models.CharField(max_length=16, choices=TaskPriority.choices, default=TaskPriority.MEDIUM)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tasks",
        db_index=False,
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reported_tasks"
    )
    deadline = models.DateTimeField(null=True, blank=True)
    # Its place in its board column (tasks.ranking): compared byte by byte, hence "C".
    rank = models.CharField(max_length=64, db_collation="C", default="a0")
    # When the current assignee got the task (the daily digest lists what is new since yesterday).
    assigned_at = models.DateTimeField(null=True, blank=True)
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TaskWatcher", related_name="watched_tasks", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # modeltranslation swaps in its multilingual manager at start-up; this tells type checkers.
    objects: ClassVar[models.Manager["Task"]]

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="tasks_task_project_created"),
            # The board: a column is (project, status) in rank order.
            models.Index(fields=["project", "status", "rank", "id"], name="tasks_task_board"),
            models.Index(fields=["project", "assignee"], name="tasks_task_project_assignee"),
            models.Index(fields=["assignee", "status"], name="tasks_task_assignee_status"),
            models.Index(fields=["project", "deadline"], name="tasks_task_project_deadline"),
            # Deadline scans (reminders, digests) only care about open tasks.
            models.Index(fields=["deadline"], name="tasks_task_open_deadline", condition=~models.Q(status="done")),
            # Search (`?search=`) matches title and description in every language.
            *[_trigram_index(column) for column in translated_field_names("title", "description")],
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TaskWatcher(models.Model):
    """Who follows a task. The reporter, the assignee and commenters are added automatically;
    anyone who can see the task may watch or unwatch it."""

    # No index of their own: the unique constraint leads with `task`, the index with `user`.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="watcher_links", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="tasks_watcher_unique")]
        indexes = [models.Index(fields=["user", "task"], name="tasks_watcher_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} watches {self.task}"


class Comment(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(max_length=10_000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the body was last changed by an edit (tasks.services.comment_update); None if never.
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["task", "created_at"], name="tasks_comment_task_created")]

    def __str__(self) -> str:
        return f"Comment #{self.pk} on task #{self.task_id}"


class TaskActivity(models.Model):
    """One entry of a task's history: a task event as the write path emitted it, written by
    notifications.events.event_emit in the statement that writes the event's outbox row (so
    there is history exactly when there is an event). Outlives the outbox, which is pruned."""

    # No index of its own: the index below leads with it.
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activity", db_index=False)
    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # As the actor was called then (the account may be renamed or deleted later).
    actor_name = models.CharField(max_length=150, blank=True, default="")
    # The event's `data`, as published.
    data = models.JSONField()
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["task", "-occurred_at", "-id"], name="tasks_activity_task_new")]
        verbose_name_plural = "task activity"

    def __str__(self) -> str:
        return f"{self.type} on task #{self.task_id}"
