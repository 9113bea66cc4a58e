from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")


# Higher outranks lower: owner > admin > member > viewer.
ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3, Role.OWNER: 4}


def role_at_least(role: str | None, minimum: Role) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[minimum]


class Project(models.Model):
    # `name` and `description` are translated (projects/translation.py): name_<lang> for each of LANGUAGES
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="", max_length=10_000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="projects")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # modeltranslation swaps in its multilingual manager at start-up; this tells type checkers.
    objects: ClassVar[models.Manager["Project"]]

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or f"Project #{self.pk}"


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="projects_membership_unique"),
            # Exactly one owner per project is kept by the services; at most one by the database.
            models.UniqueConstraint(
                fields=["project"], condition=Q(role="owner"), name="projects_membership_one_owner"
            ),
        ]
        indexes = [models.Index(fields=["user", "project"], name="projects_membership_user_idx")]
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.project}"


class InviteStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")
    # Shown for a pending invite past its expiry; the clean-up job also stores it.
    EXPIRED = "expired", _("Expired")


class Invite(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # SHA-256 of the emailed token; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The token is HMAC(SECRET_KEY, salt) (projects.services.invite_token): the mail worker
    # recomputes it from this salt, and a copy of the database alone yields no token. Empty for
    # invites made before tokens were derived (their token cannot be mailed again).
    token_salt = models.CharField(max_length=64, blank=True, default="", editable=False)
    status = models.CharField(max_length=16, choices=InviteStatus.choices, default=InviteStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "email"],
                condition=Q(status="pending"),
                name="projects_invite_one_pending_per_email",
            ),
        ]
        indexes = [models.Index(fields=["email", "status"], name="projects_invite_email_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} → {self.project} ({self.get_status_display()})"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
