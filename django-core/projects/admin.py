"""Projects, memberships and invites in the Django admin: every write goes through
projects.services with `staff=True` (docs/architecture.md, "Staff writes"): one owner per
project, a removed member's tasks released, invites with hashed tokens mailed through their
event."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TabbedTranslationAdmin

from accounts.models import User
from common.admin import ReadOnlyInline, ServiceAdminMixin
from common.translation import translated_field_names
from projects import services
from projects.models import Invite, InviteStatus, Membership, Project, Role

TRANSLATED = translated_field_names("name", "description")


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = readonly_fields = ("user", "role", "joined_at")


@admin.register(Project)
class ProjectAdmin(ServiceAdminMixin, TabbedTranslationAdmin):
    """A project added here is created by project_create: the staff user becomes its owner."""

    list_display = ["name", "created_by", "created_at", "updated_at"]
    search_fields = translated_field_names("name", "description")
    list_filter = ["created_at"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_by", "created_at", "updated_at"]
    inlines = [MembershipInline]

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor: User = request.user  # type: ignore[assignment]
        if change:
            fields = {field: data[field] for field in form.changed_data if field in TRANSLATED}
            services.project_update(project=obj, actor=actor, fields=fields, staff=True)
            return
        project = services.project_create(
            actor=actor,
            name="",
            translations={field: data[field] for field in TRANSLATED if data.get(field) is not None},
        )
        vars(obj).update(vars(project))

    def delete_model(self, request: HttpRequest, obj: Project) -> None:
        services.project_delete(project=obj, actor=request.user, staff=True)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self.call_each(
            request, queryset, lambda project: services.project_delete(project=project, actor=actor, staff=True)
        )


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Added by membership_add, re-roled by membership_change_role (one owner: giving `owner`
    transfers it), deleted by membership_remove (the member's tasks are unassigned)."""

    list_display = ["project", "user", "role", "joined_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "user__name", *translated_field_names("project__name")]
    autocomplete_fields = ["project", "user"]
    list_select_related = ["project", "user"]
    fields = ["project", "user", "role", "joined_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        return ["project", "user", "joined_at"] if obj is not None else ["joined_at"]

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor: User = request.user  # type: ignore[assignment]
        if change:
            if "role" in form.changed_data:
                services.membership_change_role(
                    project=obj.project, actor=actor, member=obj, role=Role(data["role"]), staff=True
                )
            return
        membership = services.membership_add(
            project=data["project"], actor=actor, user=data["user"], role=Role(data["role"]), staff=True
        )
        vars(obj).update(vars(membership))

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove(project=obj.project, actor=request.user, member=obj, staff=True)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        self.call_each(
            request,
            queryset.select_related("project", "user"),
            lambda member: services.membership_remove(project=member.project, actor=actor, member=member, staff=True),
        )


@admin.register(Invite)
class InviteAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Added by invite_create (a hashed token, the mail sent through `project.invited`), revoked by
    the action; never edited or deleted here."""

    list_display = ["email", "project", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", *translated_field_names("project__name")]
    fields = ("project", "email", "role")
    autocomplete_fields = ["project"]
    list_select_related = ["project", "invited_by"]
    actions = ["revoke_invites"]

    def get_fields(self, request: HttpRequest, obj: Invite | None = None) -> Any:
        if obj is None:
            return self.fields
        return (
            "project",
            "email",
            "role",
            "status",
            "invited_by",
            "created_at",
            "expires_at",
            "responded_at",
            "accepted_by",
        )

    def has_change_permission(self, request: HttpRequest, obj: Invite | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invite | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Invite, form: Any, change: bool) -> None:
        data = form.cleaned_data
        actor: User = request.user  # type: ignore[assignment]
        created = services.invite_create(
            project=data["project"], actor=actor, email=data["email"], role=Role(data["role"]), staff=True
        )
        vars(obj).update(vars(created.invite))

    @admin.action(description=_("Revoke the selected invites"))
    def revoke_invites(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        actor: User = request.user  # type: ignore[assignment]
        pending = queryset.filter(status=InviteStatus.PENDING).select_related("project")
        count = self.call_each(
            request, pending, lambda invite: services.invite_revoke(invite=invite, actor=actor, staff=True)
        )
        message = ngettext("%(count)d invite revoked.", "%(count)d invites revoked.", count) % {"count": count}
        self.message_user(request, message, messages.SUCCESS)
