from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from common.translation import translated_field_names
from tasks.filters import MAX_ID
from tasks.models import Comment, Task, TaskPriority, TaskStatus

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
            "is_watching",
            "created_at",
            "updated_at",
            "completed_at",
        ]
        read_only_fields = fields


class TaskDetailSerializer(TaskSerializer):
    watchers = UserPublicSerializer(many=True, read_only=True, source="watcher_users")

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "watchers"]
        read_only_fields = fields


class _TaskWriteFields(serializers.Serializer[Task]):
    title = serializers.CharField(max_length=300, required=False)
    description = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    title_en = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title_ru = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description_en = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    description_ru = serializers.CharField(max_length=20_000, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    priority = serializers.ChoiceField(choices=TaskPriority.choices, required=False)
    assignee = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    deadline = AwareDateTimeField(required=False, allow_null=True)


class TaskCreateSerializer(_TaskWriteFields):
    project = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(field) for field in ["title", *translated_field_names("title")]):
            raise serializers.ValidationError({"title": [_("A task needs a title.")]})
        return attrs


class TaskUpdateSerializer(_TaskWriteFields):
    pass


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = UserPublicSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Comment
        fields = ["id", "task", "author", "body", "created_at", "updated_at"]
        read_only_fields = ["id", "task", "author", "created_at", "updated_at"]
        extra_kwargs = {"body": {"max_length": 10_000}}
