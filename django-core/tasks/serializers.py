from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from common.fields import SingleLineCharField
from common.serialization import iso_datetime
from common.translation import translated_field_names
from projects.serializers import MembershipSerializer, ProjectSerializer
from tasks.activity import activity_message
from tasks.filters import MAX_ID
from tasks.models import Comment, Task, TaskActivity, TaskPriority, TaskStatus

TRANSLATED = translated_field_names("title", "description")


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an explicit zone or offset; a naive time is ambiguous and refused."""

    default_error_messages = {
        "naive": _("Include a time zone, e.g. 2026-12-01T17:00:00+01:00 or …Z."),
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)


class TaskSerializer(serializers.ModelSerializer[Task]):
    project = serializers.IntegerField(source="project_id", read_only=True)
    assignee = UserPublicSerializer(read_only=True, allow_null=True)
    reporter = UserPublicSerializer(read_only=True, allow_null=True)
    is_watching = serializers.BooleanField(read_only=True, default=False)

    class Meta:
        model = Task
        fields = [
            "id",
            "project",
            "title",
            "description",
            *TRANSLATED,
            "status",
            "priority",
            "assignee",
            "reporter",
            "deadline",
            "rank",
            "is_watching",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict[str, Any]:
        """The declared fields, built directly: a page of 50 tasks through DRF's per-field
        machinery cost a third of the list endpoint's CPU (bench/django_api.py). The declared
        fields stay the schema; tests compare both paths."""
        data: dict[str, Any] = {
            "id": task.pk,
            "project": task.project_id,
            "title": task.title,
            "description": task.description,
        }
        for column in TRANSLATED:
            data[column] = getattr(task, column)
        data.update(
            status=task.status,
            priority=task.priority,
            assignee=_person_of(task, "assignee"),
            reporter=_person_of(task, "reporter"),
            deadline=iso_datetime(task.deadline),
            rank=task.rank,
            is_watching=bool(getattr(task, "is_watching", False)),
            created_at=iso_datetime(task.created_at),
            updated_at=iso_datetime(task.updated_at),
            completed_at=iso_datetime(task.completed_at),
        )
        return data


def _person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name, "email": user.email}


def _person_of(task: Task, role: str) -> dict[str, Any] | None:
    """The assignee or reporter, from the columns a list annotates (`assignee_name`, …) or from
    the related user a detail query selects."""
    user_id = getattr(task, f"{role}_id")
    if user_id is None:
        return None
    if f"{role}_name" in task.__dict__:
        return {"id": user_id, "name": task.__dict__[f"{role}_name"], "email": task.__dict__[f"{role}_email"]}
    return _person(getattr(task, role))


class TaskDetailSerializer(TaskSerializer):
    watchers = UserPublicSerializer(many=True, read_only=True, source="watcher_users")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "watchers"]
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict[str, Any]:
        data = super().to_representation(task)
        data["watchers"] = [_person(user) for user in task.watcher_users]  # type: ignore[attr-defined]
        return data


class _TaskWriteFields(serializers.Serializer[Task]):
    """`title`/`description` write the request's language; `title_<lang>`/`description_<lang>`
    (one pair per language of LANGUAGES, added by get_fields) one language each."""

    title = SingleLineCharField(max_length=300, required=False)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=TaskPriority.choices, required=False)
    assignee = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    deadline = AwareDateTimeField(required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        plain = {name: fields.pop(name) for name in ("title", "description")}
        translated: dict[str, serializers.Field[Any, Any, Any, Any]] = {
            column: SingleLineCharField(max_length=300, required=False, allow_blank=True)
            for column in translated_field_names("title")
        }
        translated.update(
            (column, serializers.CharField(max_length=20_000, required=False, allow_blank=True))
            for column in translated_field_names("description")
        )
        return {**plain, **translated, **fields}


class TaskCreateSerializer(_TaskWriteFields):
    project = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(field) for field in ["title", *translated_field_names("title")]):
            raise serializers.ValidationError({"title": [_("A task needs a title.")]})
        return attrs


class TaskUpdateSerializer(_TaskWriteFields):
    pass


class TaskMoveSerializer(serializers.Serializer[Task]):
    """Where a card goes: a column, and the cards it lands between (either may be left out)."""

    status = serializers.ChoiceField(
        choices=TaskStatus.choices, required=False, help_text="The column; default: the task's own."
    )
    after = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="The task right above it."
    )
    before = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="The task right below it."
    )


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = UserPublicSerializer(read_only=True, allow_null=True)
    edited = serializers.SerializerMethodField(help_text="Whether the body was changed after the comment was made.")

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "body", "created_at", "updated_at", "edited"]
        read_only_fields = ["id", "task", "author", "created_at", "updated_at", "edited"]
        extra_kwargs = {"body": {"max_length": 10_000}}

    def get_edited(self, comment: Comment) -> bool:
        return comment.edited_at is not None


class ActivityActorSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="As they were called then.")


class TaskActivitySerializer(serializers.ModelSerializer[TaskActivity]):
    """One entry of a task's history: a task event as the write path emitted it."""

    actor = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField(help_text="The entry as a sentence, in the request language.")

    class Meta:
        model = TaskActivity
        fields = ["id", "type", "actor", "occurred_at", "data", "message"]
        read_only_fields = fields
        extra_kwargs = {
            "type": {
                "help_text": "The event type: task.created, task.assigned, task.unassigned, "
                "task.status_changed, task.updated or task.commented."
            },
            "data": {"help_text": "The event's `data`, as published (docs/events.md)."},
        }

    @extend_schema_field(ActivityActorSerializer(allow_null=True))
    def get_actor(self, entry: TaskActivity) -> dict[str, Any] | None:
        # An account deleted since leaves no id; the message still names them.
        return {"id": entry.actor_id, "name": entry.actor_name} if entry.actor_id is not None else None

    def get_message(self, entry: TaskActivity) -> str:
        return activity_message(entry)


class BoardCardSerializer(serializers.Serializer[Any]):
    """A card: what a board shows of a task (the title in the request language)."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    priority = serializers.ChoiceField(choices=TaskPriority.choices)
    rank = serializers.CharField(help_text="Order within the column: compare as plain strings, then by id.")
    assignee_id = serializers.IntegerField(allow_null=True)
    deadline = serializers.DateTimeField(allow_null=True)


class BoardColumnSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    count = serializers.IntegerField(help_text="Tasks in the column; `tasks` holds the first 500 by rank.")
    tasks = BoardCardSerializer(many=True, source="cards")


class BoardSerializer(serializers.Serializer[Any]):
    project = ProjectSerializer()
    members = MembershipSerializer(many=True)
    columns = BoardColumnSerializer(many=True)
