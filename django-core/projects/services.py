"""Writes for projects, memberships and invites. Keyword-only, atomic, permission-checked: the
API, the admin, Celery and the bot's internal API all come through here."""

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from notifications import events
from rest_framework import exceptions
from taskflow_contracts import EventType
from taskflow_contracts.events import (
    InviteRef,
    ProjectDeletedData,
    ProjectInvitedData,
    ProjectMemberJoinedData,
    ProjectMemberRemovedData,
    ProjectMemberRoleChangedData,
    ProjectUpdatedData,
)

from accounts.models import User, normalize_email
from accounts.services import user_email_mark_verified
from common.errors import BadRequest, Conflict
from common.tokens import token_hash
from common.translation import translated_field_names
from projects.models import ROLE_RANK, Invite, InviteStatus, Membership, Project, Role, role_at_least
from projects.selectors import membership_role

logger = logging.getLogger(__name__)

TRANSLATED_PROJECT_FIELDS = ("name", "description")


def project_require_role(*, project: Project, user: User, minimum: Role, staff: bool = False) -> str:
    """The user's role in the project. NotFound for outsiders (no existence leak),
    PermissionDenied for members below `minimum`.

    Staff writes: `staff=True` says the caller is the Django admin acting for `user`. For an
    active staff account membership is then not checked and the role counts as `owner`; every
    other rule of the calling service (one owner, assignees are members, events emitted with
    `user` as their actor) still applies. For anyone else the flag changes nothing."""
    if staff and user.is_staff and user.is_active:
        return Role.OWNER
    role = membership_role(project=project, user=user)
    if role is None:
        raise exceptions.NotFound()
    if not role_at_least(role, minimum):
        raise exceptions.PermissionDenied(
            _("This needs the %(role)s role or higher in the project.") % {"role": minimum.label},
            "insufficient_role",
        )
    return role


def project_create(
    *, actor: User, name: str, description: str = "", translations: dict[str, str] | None = None
) -> Project:
    """Creates a project; the creator becomes its owner."""
    with transaction.atomic():
        project = Project(name=name, description=description, created_by=actor)
        for field, value in (translations or {}).items():
            setattr(project, field, value)
        project.save()
        Membership.objects.create(project=project, user=actor, role=Role.OWNER)
    project.my_role = Role.OWNER  # type: ignore[attr-defined]
    logger.info("project created id=%s by user=%s", project.pk, actor.pk)
    return project


def project_update(*, project: Project, actor: User, fields: dict[str, str], staff: bool = False) -> Project:
    """Updates name/description (in the active language) and their per-language columns; admin+
    (or staff, see project_require_role)."""
    project_require_role(project=project, user=actor, minimum=Role.ADMIN, staff=staff)
    with transaction.atomic():
        before = {column: getattr(project, column) for column in _PROJECT_COLUMNS}
        for field, value in fields.items():
            setattr(project, field, value)
        if not any(getattr(project, column) for column in translated_field_names("name")):
            raise exceptions.ValidationError({"name": [_("A project needs a name.")]})
        project.save()
        changed = sorted(
            {column.split("_")[0] for column in _PROJECT_COLUMNS if getattr(project, column) != before[column]}
        )
        if changed:
            # Boards only (their headers): nobody is notified of a rename.
            events.event_emit(
                event_type=EventType.PROJECT_UPDATED,
                actor=actor,
                data=ProjectUpdatedData(project=events.project_ref(project), changes=changed),
                audience=events.Audience(users=[]),
                project=project,
            )
    return project


_PROJECT_COLUMNS = translated_field_names(*TRANSLATED_PROJECT_FIELDS)


def project_delete(*, project: Project, actor: User, staff: bool = False) -> None:
    """Deletes the project with its tasks; the owner (or staff, see project_require_role)."""
    project_require_role(project=project, user=actor, minimum=Role.OWNER, staff=staff)
    with transaction.atomic():
        _lock_project(project)
        members = list(User.objects.filter(memberships__project=project).order_by("pk"))
        # Every member is told, and every open board closes: the memberships are gone by the
        # commit, so the board's recipients are named here.
        events.event_emit(
            event_type=EventType.PROJECT_DELETED,
            actor=actor,
            data=ProjectDeletedData(project=events.project_ref(project)),
            audience=events.Audience(
                users=[user for user in members if user.is_active], board_also=[user.pk for user in members]
            ),
            project=project,
        )
        project.delete()
    logger.info("project deleted id=%s by user=%s", project.pk, actor.pk)


def membership_change_role(
    *, project: Project, actor: User, member: Membership, role: Role, staff: bool = False
) -> Membership:
    """Changes a member's role; admin+ (or staff, who act as the owner: see project_require_role).

    An admin manages members and viewers (and may make them admins); only the owner changes
    admins, and giving `owner` transfers ownership (the previous owner becomes an admin). The
    owner's own role changes only by such a transfer: a project always has one owner.
    Nobody changes their own role. Role changes in a project are serialized (its row is locked),
    so the checks see the roles as they are when the change is written."""
    with transaction.atomic():
        _lock_project(project)
        actor_role = project_require_role(project=project, user=actor, minimum=Role.ADMIN, staff=staff)
        if member.user_id == actor.pk:
            raise exceptions.PermissionDenied(_("You cannot change your own role."), "own_role")
        _reload_role(member)
        _require_outranks(actor_role, member.role)
        if role == Role.OWNER and actor_role != Role.OWNER:
            raise exceptions.PermissionDenied(_("Only the owner can transfer ownership."), "insufficient_role")
        if ROLE_RANK[role] > ROLE_RANK[Role(actor_role)]:
            raise exceptions.PermissionDenied(_("You cannot grant a role above your own."), "insufficient_role")
        if member.role == Role.OWNER and role != Role.OWNER:
            raise exceptions.PermissionDenied(
                _("The owner keeps the role until ownership is transferred to someone else."), "owner_role"
            )
        previous_role = member.role
        if previous_role == role:
            return member
        if role == Role.OWNER:
            # Demote first: the database allows one owner per project at any moment. The owner is
            # the actor, unless staff make the transfer.
            owners = list(
                Membership.objects.filter(project=project, role=Role.OWNER).exclude(pk=member.pk).select_related("user")
            )
            Membership.objects.filter(pk__in=[owner.pk for owner in owners]).update(role=Role.ADMIN)
            for owner in owners:
                _emit_role_changed(project=project, actor=actor, user=owner.user, role=Role.ADMIN, previous=Role.OWNER)
        member.role = role
        member.save(update_fields=["role"])
        _emit_role_changed(project=project, actor=actor, user=member.user, role=role, previous=previous_role)
    return member


def _emit_role_changed(*, project: Project, actor: User, user: User, role: str, previous: str) -> None:
    """The member is told; every board of the project hears of it (a viewer's board locks)."""
    events.event_emit(
        event_type=EventType.PROJECT_MEMBER_ROLE_CHANGED,
        actor=actor,
        data=ProjectMemberRoleChangedData(
            project=events.project_ref(project), member=events.user_ref(user), role=role, previous_role=previous
        ),
        audience=events.Audience(users=[user] if user.is_active else []),
        project=project,
    )


def _lock_project(project: Project) -> None:
    """Serializes writes to one project's memberships and invites. Precondition: inside a transaction."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()


def _reload_role(member: Membership) -> None:
    """The member's role as it is now under the project lock, not as the request read it; NotFound
    when they are gone meanwhile."""
    role = Membership.objects.filter(pk=member.pk).values_list("role", flat=True).first()
    if role is None:
        raise exceptions.NotFound()
    member.role = role


def _require_outranks(actor_role: str, target_role: str) -> None:
    if actor_role == Role.OWNER:
        return
    if ROLE_RANK[Role(target_role)] >= ROLE_RANK[Role(actor_role)]:
        raise exceptions.PermissionDenied(_("You can only manage members below your own role."), "insufficient_role")


def membership_remove(*, project: Project, actor: User, member: Membership, staff: bool = False) -> None:
    """Removes a member (admin+, below the actor's role; or staff, see project_require_role) or
    lets a member leave. The owner cannot
    leave without transferring ownership first. The removed user's tasks in the project are
    unassigned and their watches dropped. Serialized with role changes (the project row is locked):
    a member cannot leave while being made the owner."""
    from tasks.services import tasks_release_member

    with transaction.atomic():
        _lock_project(project)
        if member.user_id == actor.pk:
            project_require_role(project=project, user=actor, minimum=Role.VIEWER)
            _reload_role(member)
            if member.role == Role.OWNER:
                raise Conflict(_("The owner cannot leave; transfer ownership first."), "owner_cannot_leave")
        else:
            actor_role = project_require_role(project=project, user=actor, minimum=Role.ADMIN, staff=staff)
            _reload_role(member)
            if member.role == Role.OWNER:
                raise exceptions.PermissionDenied(_("The owner cannot be removed."), "insufficient_role")
            _require_outranks(actor_role, member.role)
        tasks_release_member(project=project, user=member.user, actor=actor)
        member.delete()
        # The removed person hears of it too, although no longer a member.
        audience = events.Audience(
            users=[*events.project_admins(project=project), member.user], board_also=[member.user_id]
        )
        data = ProjectMemberRemovedData(project=events.project_ref(project), member=events.user_ref(member.user))
        events.event_emit(
            event_type=EventType.PROJECT_MEMBER_REMOVED, actor=actor, data=data, audience=audience, project=project
        )


def membership_add(*, project: Project, actor: User, user: User, role: Role, staff: bool = False) -> Membership:
    """Adds a user to the project directly, without an invite: staff only (the admin's add form;
    members join through invites). Never as `owner`: a project has one, changed by a transfer
    (membership_change_role). The project's admins hear of it (`project.member_joined`)."""
    if not (staff and actor.is_staff):
        raise exceptions.PermissionDenied()
    if role == Role.OWNER:
        raise exceptions.ValidationError({"role": [_("A project has one owner; transfer ownership to change it.")]})
    with transaction.atomic():
        _lock_project(project)
        if Membership.objects.filter(project=project, user=user).exists():
            raise Conflict(_("This person is already a member of the project."), "already_member")
        membership = Membership.objects.create(project=project, user=user, role=role)
        data = ProjectMemberJoinedData(project=events.project_ref(project), member=events.user_ref(user), role=role)
        events.event_emit(
            event_type=EventType.PROJECT_MEMBER_JOINED,
            actor=actor,
            data=data,
            audience=events.Audience(users=events.project_admins(project=project)),
            project=project,
        )
    logger.info("member added project=%s user=%s by staff user=%s", project.pk, user.pk, actor.pk)
    return membership


@dataclass(frozen=True)
class CreatedInvite:
    invite: Invite
    # The plain single-use token: only ever sent to the invitee by email, never stored.
    token: str


def invite_token(*, invite: Invite) -> str:
    """The invite's emailed token, recomputed from its stored salt and the server secret (the mail
    worker calls this). Only SHA-256(token) is stored, for lookup. Rotating SECRET_KEY changes
    the tokens of invites not yet mailed; those already sent keep working (looked up by hash)."""
    if not invite.token_salt:
        raise ValueError(f"invite {invite.pk} predates derived tokens; its token cannot be recomputed")
    return _token_from_salt(invite.token_salt)


def _token_from_salt(salt: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"invite:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invite_create(*, project: Project, actor: User, email: str, role: Role, staff: bool = False) -> CreatedInvite:
    """Invites an email address with a role; admin+ (or staff, see project_require_role), never
    `owner`, never above the actor's role. Inviting an address with a pending invite replaces it
    (new token, new expiry)."""
    actor_role = project_require_role(project=project, user=actor, minimum=Role.ADMIN, staff=staff)
    if role == Role.OWNER or ROLE_RANK[role] > ROLE_RANK[Role(actor_role)]:
        raise exceptions.ValidationError({"role": [_("You cannot invite with this role.")]})
    email = normalize_email(email)
    if Membership.objects.filter(project=project, user__email=email).exists():
        raise Conflict(_("This person is already a member of the project."), "already_member")
    token_salt = secrets.token_urlsafe(24)
    token = _token_from_salt(token_salt)
    with transaction.atomic():
        # With no pending row to lock, two concurrent invites of one address would both insert and
        # the second would fail the one-pending-invite constraint.
        _lock_project(project)
        Invite.objects.select_for_update().filter(project=project, email=email, status=InviteStatus.PENDING).update(
            status=InviteStatus.REVOKED, responded_at=timezone.now()
        )
        invite = Invite.objects.create(
            project=project,
            email=email,
            role=role,
            invited_by=actor,
            token_hash=token_hash(token),
            token_salt=token_salt,
            expires_at=timezone.now() + settings.INVITE_TTL,
        )
        invitee = User.objects.filter(email=email, is_active=True).first()
        audience = events.Audience(users=[invitee]) if invitee else events.Audience(email_addresses=[email])
        data = ProjectInvitedData(
            project=events.project_ref(project),
            invite=InviteRef(id=invite.pk, email=email, role=role, expires_at=invite.expires_at),
        )
        events.event_emit(
            event_type=EventType.PROJECT_INVITED, actor=actor, data=data, audience=audience, project=project
        )
    logger.info("invite created id=%s project=%s by user=%s", invite.pk, project.pk, actor.pk)
    return CreatedInvite(invite=invite, token=token)


def invite_revoke(*, invite: Invite, actor: User, staff: bool = False) -> Invite:
    """Revokes a pending (or expired) invite; admin+ (or staff, see project_require_role)."""
    project_require_role(project=invite.project, user=actor, minimum=Role.ADMIN, staff=staff)
    with transaction.atomic():
        invite = Invite.objects.select_for_update().get(pk=invite.pk)
        _require_pending(invite, allow_expired=True)
        invite.status = InviteStatus.REVOKED
        invite.responded_at = timezone.now()
        invite.save(update_fields=["status", "responded_at"])
    return invite


def _require_pending(invite: Invite, *, allow_expired: bool = False) -> None:
    if invite.status != InviteStatus.PENDING:
        raise Conflict(
            _("This invite is already %(status)s.") % {"status": invite.get_status_display().lower()},
            "invite_not_pending",
        )
    if invite.is_expired() and not allow_expired:
        raise BadRequest(_("This invite has expired; ask for a new one."), "invite_expired")


def invite_accept(*, invite: Invite, user: User) -> Membership:
    """Accepts an invite addressed to the user's email (checked by the caller's selector) or
    presented by its emailed token. Single use: the row is locked while it is consumed."""
    with transaction.atomic():
        invite = Invite.objects.select_for_update().select_related("project").get(pk=invite.pk)
        _require_pending(invite)
        try:
            with transaction.atomic():
                membership = Membership.objects.create(project=invite.project, user=user, role=invite.role)
        except IntegrityError as exc:
            raise Conflict(_("You are already a member of this project."), "already_member") from exc
        invite.status = InviteStatus.ACCEPTED
        invite.responded_at = timezone.now()
        invite.accepted_by = user
        invite.save(update_fields=["status", "responded_at", "accepted_by"])
        data = ProjectMemberJoinedData(
            project=events.project_ref(invite.project), member=events.user_ref(user), role=invite.role
        )
        events.event_emit(
            event_type=EventType.PROJECT_MEMBER_JOINED,
            actor=user,
            data=data,
            audience=events.Audience(users=events.project_admins(project=invite.project)),
            project=invite.project,
        )
    logger.info("invite accepted id=%s by user=%s", invite.pk, user.pk)
    return membership


def invite_accept_by_token(*, token: str, user: User) -> Membership:
    """Accepts the invite whose emailed token is presented. The token was mailed to the invite's
    address: accepted by the account with that address, it verifies the address too."""
    invite = Invite.objects.filter(token_hash=token_hash(token)).first()
    if invite is None:
        raise exceptions.NotFound(_("No invite matches this token."), "invite_not_found")
    with transaction.atomic():
        membership = invite_accept(invite=invite, user=user)
        if normalize_email(invite.email) == normalize_email(user.email):
            user_email_mark_verified(user=user)
    return membership


def invite_decline(*, invite: Invite, user: User) -> Invite:
    with transaction.atomic():
        invite = Invite.objects.select_for_update().get(pk=invite.pk)
        _require_pending(invite)
        invite.status = InviteStatus.DECLINED
        invite.responded_at = timezone.now()
        invite.save(update_fields=["status", "responded_at"])
    return invite


def invites_expire() -> int:
    """Stores `expired` on pending invites past their expiry (the clean-up job); how many."""
    with transaction.atomic():
        return Invite.objects.filter(status=InviteStatus.PENDING, expires_at__lte=timezone.now()).update(
            status=InviteStatus.EXPIRED
        )
