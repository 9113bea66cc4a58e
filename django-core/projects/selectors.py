"""Reads for projects. Outsiders never learn that a project exists: they get NotFound."""

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, PermissionDenied

from accounts.models import User, normalize_email
from projects.models import Invite, InviteStatus, Membership, Project


def member_project_ids(user: User) -> QuerySet[Membership, Any]:
    """A subquery of the ids of the projects the user belongs to."""
    return Membership.objects.filter(user=user).values("project_id")


def project_list_for_user(*, user: User) -> QuerySet[Project]:
    """The user's projects, each annotated with `my_role`."""
    my_role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return Project.objects.filter(pk__in=member_project_ids(user)).annotate(my_role=Subquery(my_role))


def project_get_for_user(*, project_id: int, user: User) -> Project:
    """The project with `my_role` set, or NotFound when the user is not a member."""
    project = project_list_for_user(user=user).filter(pk=project_id).first()
    if project is None:
        raise NotFound()
    return project


def membership_role(*, project: Project, user: User) -> str | None:
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def membership_list(*, project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("joined_at", "id")


def invite_list_pending_for_user(*, user: User) -> QuerySet[Invite]:
    """The pending invites addressed to the user's email; none until the address is verified
    (registering someone else's address must not reveal or earn their invites)."""
    if not user.email_verified:
        return Invite.objects.none()
    return (
        Invite.objects.filter(
            email=normalize_email(user.email), status=InviteStatus.PENDING, expires_at__gt=timezone.now()
        )
        .select_related("project", "invited_by")
        .order_by("-created_at", "-id")
    )


def invite_list_for_project(*, project: Project) -> QuerySet[Invite]:
    return Invite.objects.filter(project=project).select_related("invited_by").order_by("-created_at", "-id")


def invite_get_for_invitee(*, invite_id: int, user: User) -> Invite:
    """An invite addressed to the user's email; NotFound for anyone else's. PermissionDenied
    (`email_unverified`) while the user's address is unverified, whatever the invite: matching
    the address proves nothing until then (the emailed token still works, invite_accept_by_token)."""
    if not user.email_verified:
        raise PermissionDenied(
            _(
                "Verify your email address first: open the link we mailed you, or accept the "
                "invitation from the link in its email."
            ),
            "email_unverified",
        )
    invite = Invite.objects.filter(pk=invite_id, email=normalize_email(user.email)).select_related("project").first()
    if invite is None:
        raise NotFound()
    return invite
