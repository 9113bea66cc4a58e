from typing import Any

from django.conf import settings
from rest_framework import serializers

from accounts.models import User, validate_timezone
from common.fields import SingleLineCharField


class UserSerializer(serializers.ModelSerializer[User]):
    telegram_linked = serializers.BooleanField(read_only=True)
    email_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "language", "timezone", "telegram_linked", "email_verified"]
        read_only_fields = ["id", "email", "telegram_linked", "email_verified"]

    def to_representation(self, user: User) -> dict[str, Any]:
        """The declared fields, built directly: DRF building a ModelSerializer's fields on every
        call was ~1.5 ms of `GET /api/users/me`. The declared fields stay the schema;
        tests/django_core/accounts/test_me.py compares both paths."""
        return {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "timezone": user.timezone,
            "telegram_linked": user.telegram_linked,
            "email_verified": user.email_verified,
        }


class UserPublicSerializer(serializers.ModelSerializer[User]):
    """What project members see of each other."""

    class Meta:
        model = User
        fields = ["id", "name", "email"]


class RegisterSerializer(serializers.Serializer[User]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    name = SingleLineCharField(max_length=150)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class RegisteredSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "name", "language"]


class UserUpdateSerializer(serializers.Serializer[User]):
    name = SingleLineCharField(max_length=150, required=False)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])


class LoginSerializer(serializers.Serializer[None]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshSerializer(serializers.Serializer[None]):
    refresh = serializers.CharField(max_length=2048)


class TokenPairSerializer(serializers.Serializer[None]):
    access = serializers.CharField()
    refresh = serializers.CharField()


class PasswordChangeSerializer(serializers.Serializer[None]):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False)


class AccountTokenSerializer(serializers.Serializer[None]):
    token = serializers.CharField(max_length=256)


class EmailVerifiedSerializer(serializers.Serializer[None]):
    email_verified = serializers.BooleanField()


class PasswordResetSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer[None]):
    token = serializers.CharField(max_length=256)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
