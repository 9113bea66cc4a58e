from django.db import models
from django.db.models import Q


class ReminderKind(models.TextChoices):
    DUE_IN_24H = "24h", "24 hours before"
    DUE_IN_1H = "1h", "1 hour before"
    OVERDUE = "overdue", "Overdue"


class ReminderStatus(models.TextChoices):
    # Claimed by a scan; its event is emitted next (by that scan or, after a crash, the next one).
    PENDING = "pending", "Pending"
    EMITTED = "emitted", "Emitted"
    # Not emitted: by the time it was processed the task was done, its deadline had moved, or a
    # later reminder had become due instead.
    OBSOLETE = "obsolete", "Obsolete"


class DeadlineReminder(models.Model):
    """One reminder of one task for one deadline: the unique (task, deadline, kind) is the claim
    that makes every reminder happen once, whatever the number of scans or beats. A moved
    deadline is a new key, hence fresh reminders."""

    task = models.ForeignKey("tasks.Task", on_delete=models.CASCADE, related_name="+")
    deadline = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=ReminderKind.choices)
    status = models.CharField(max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "deadline", "kind"], name="reminders_one_per_task_deadline_kind"),
        ]
        indexes = [
            models.Index(fields=["id"], name="reminders_pending", condition=Q(status="pending")),
            models.Index(fields=["deadline"], name="reminders_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder of task #{self.task_id} due {self.deadline:%Y-%m-%d %H:%M} ({self.status})"
