"""Tasks and comments in the Django admin: every write goes through tasks.services with
`staff=True` (docs/architecture.md, "Staff writes"), so an admin edit validates the assignee and
emits the same events as the API."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from modeltranslation.admin import TabbedTranslationAdmin
from rest_framework import exceptions

from accounts.models import User
from common.admin import ReadOnlyInline, ServiceAdminMixin, add_form_errors
from common.translation import translated_field_names
from tasks import services
from tasks.models import Comment, Task, TaskWatcher

TRANSLATED = translated_field_names("title", "description")
# What task_update takes from the change form.
EDITABLE = ("status", "priority", "assignee", "deadline", *TRANSLATED)


class CommentInline(ReadOnlyInline):
    model = Comment
    fields = readonly_fields = ("author", "body", "created_at")


class WatcherInline(ReadOnlyInline):
    model = TaskWatcher
    fields = readonly_fields = ("user", "created_at")


class TaskAdminForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        """The assignee is checked by the service's own rule here, so a refusal is a form error."""
        cleaned: dict[str, Any] = super().clean() or {}
        project = cleaned.get("project") or (self.instance.project if self.instance.project_id else None)
        if project is not None and "assignee" in cleaned:
            try:
                services.task_assignee_validate(project=project, assignee=cleaned["assignee"])
            except exceptions.ValidationError as exc:
                add_form_errors(self, exc)
        return cleaned


@admin.register(Task)
class TaskAdmin(ServiceAdminMixin, TabbedTranslationAdmin):
    form = TaskAdminForm
    list_display = ["id", "title", "project", "status", "priority", "assignee", "deadline", "updated_at"]
    list_filter = ["status", "priority", "project", "deadline"]
    search_fields = [*translated_field_names("title", "description"), "assignee__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["reporter", "rank", "assigned_at", "created_at", "updated_at", "completed_at"]
    autocomplete_fields = ["project", "assignee"]
    list_select_related = ["project", "assignee"]
    inlines = [WatcherInline, CommentInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> list[str]:
        # A task stays in its project (task_update cannot move it).
        return [*self.readonly_fields, "project"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor: User = request.user  # type: ignore[assignment]
        if change:
            fields = {field: data[field] for field in form.changed_data if field in EDITABLE}
            services.task_update(task=obj, actor=actor, fields=fields, staff=True)
            return
        task = services.task_create(
            actor=actor,
            project=data["project"],
            translations={field: data[field] for field in TRANSLATED if data.get(field) is not None},
            status=data["status"],
            priority=data["priority"],
            assignee=data.get("assignee"),
            deadline=data.get("deadline"),
            staff=True,
        )
        vars(obj).update(vars(task))  # the admin logs and redirects with the object it built

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        services.task_delete(task=obj, actor=request.user, staff=True)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self.call_each(request, queryset, lambda task: services.task_delete(task=task, actor=actor, staff=True))


@admin.register(Comment)
class CommentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Comments are added through comment_create (by the staff user, as author) and never edited
    or deleted here (there is no service for either, and no event a client would hear); the
    change page is read-only."""

    list_display = ["id", "task", "author", "created_at"]
    search_fields = ["body", "author__email"]
    list_filter = ["created_at"]
    fields = ("task", "body")
    autocomplete_fields = ["task"]
    list_select_related = ["task", "author"]

    def get_fields(self, request: HttpRequest, obj: Comment | None = None) -> Any:
        return ("task", "author", "body", "created_at") if obj is not None else self.fields

    def has_change_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Comment | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Comment, form: Any, change: bool) -> None:
        author: User = request.user  # type: ignore[assignment]
        data = form.cleaned_data
        comment = services.comment_create(task=data["task"], author=author, body=data["body"], staff=True)
        vars(obj).update(vars(comment))
