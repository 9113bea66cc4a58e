from django.contrib import admin
from modeltranslation.admin import TabbedTranslationAdmin

from common.translation import translated_field_names
from tasks.models import Comment, Task, TaskWatcher


class CommentInline(admin.StackedInline):
    model = Comment
    extra = 0
    fields = ["author", "body", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["author"]


class WatcherInline(admin.TabularInline):
    model = TaskWatcher
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Task)
class TaskAdmin(TabbedTranslationAdmin):
    list_display = ["id", "title", "project", "status", "priority", "assignee", "deadline", "updated_at"]
    list_filter = ["status", "priority", "project", "deadline"]
    search_fields = [*translated_field_names("title", "description"), "assignee__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at", "completed_at"]
    autocomplete_fields = ["project", "assignee", "reporter"]
    list_select_related = ["project", "assignee"]
    inlines = [WatcherInline, CommentInline]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "author", "created_at"]
    search_fields = ["body", "author__email"]
    list_filter = ["created_at"]
    autocomplete_fields = ["task", "author"]
    list_select_related = ["task", "author"]
