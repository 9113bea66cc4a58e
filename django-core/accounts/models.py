from functools import cache
from typing import Any, ClassVar
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone
from django.utils.translation import gettext_lazy as _


@cache
def timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(value: str) -> None:
    if value not in timezone_names():
        raise ValidationError(
            _("%(value)s is not a known IANA time zone, e.g. Europe/Berlin."), params={"value": value}
        )


def normalize_email(email: str) -> str:
    """Emails are unique case-insensitively; we store them lower-cased and trimmed."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    """Django's plumbing for `createsuperuser` and the admin; the API goes through
    accounts.services.user_create."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("name", email.split("@")[0])
        # Whoever runs `createsuperuser` on the server vouches for the address.
        extra.setdefault("email_verified_at", django_timezone.now())
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=150)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=django_timezone.now)
    failed_login_count = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Set when the user links a Telegram chat (telegram-bot); null means not linked.
    telegram_chat_id = models.BigIntegerField(null=True, blank=True, unique=True)
    # True once the user stored any notification preference: until then the defaults apply and
    # emitting an event needs no preference lookup for them (one query less on every write).
    has_notification_preferences = models.BooleanField(default=False, editable=False)
    # When the user proved they read mail sent to `email` (a verification link, an emailed invite
    # token); null: never. Invites addressed to the email are shown and accepted only once set.
    email_verified_at = models.DateTimeField(_("email verified at"), null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def telegram_linked(self) -> bool:
        return self.telegram_chat_id is not None

    def is_locked(self, at: Any = None) -> bool:
        return self.locked_until is not None and self.locked_until > (at or django_timezone.now())

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class AccountTokenPurpose(models.TextChoices):
    VERIFY_EMAIL = "verify_email", "Verify email"
    PASSWORD_RESET = "password_reset", "Password reset"


class AccountToken(models.Model):
    """A single-use token mailed to a user: an email verification or a password reset link.

    Only SHA-256(token) is stored, for lookup; the mail worker recomputes the token from `salt`
    and the server secret (as invite tokens are), so neither the database nor the broker holds a
    usable token."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_tokens")
    purpose = models.CharField(max_length=32, choices=AccountTokenPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    salt = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=django_timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose"], name="accounts_token_user_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose} token of user {self.user_id}"

    def is_expired(self, at: Any = None) -> bool:
        return self.expires_at <= (at or django_timezone.now())
