from django.contrib import admin
from modeltranslation.admin import TabbedTranslationAdmin

from common.translation import translated_field_names
from projects.models import Invite, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "joined_at"]


@admin.register(Project)
class ProjectAdmin(TabbedTranslationAdmin):
    list_display = ["name", "created_by", "created_at", "updated_at"]
    search_fields = translated_field_names("name", "description")
    list_filter = ["created_at"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]
    autocomplete_fields = ["created_by"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name", *translated_field_names("project__name")]
    autocomplete_fields = ["project", "user"]
    list_select_related = ["project", "user"]


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ["email", "project", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", *translated_field_names("project__name")]
    readonly_fields = ["token_hash", "created_at", "responded_at", "accepted_by"]
    autocomplete_fields = ["project", "invited_by"]
    list_select_related = ["project", "invited_by"]
