from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserPublicSerializer
from common.fields import validate_single_line
from common.translation import translated_field_names
from projects.models import Invite, InviteStatus, Membership, Project, Role

TRANSLATED = translated_field_names("name", "description")


class ProjectSerializer(serializers.ModelSerializer[Project]):
    my_role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "name", "description", *TRANSLATED, "my_role", "created_at", "updated_at"]
        read_only_fields = fields


class ProjectWriteSerializer(serializers.ModelSerializer[Project]):
    """`name`/`description` write the request's language; `name_<lang>` (each of LANGUAGES) one language each."""

    class Meta:
        model = Project
        fields = ["name", "description", *TRANSLATED]
        extra_kwargs = {
            **{field: {"required": False} for field in ["description", *translated_field_names("description")]},
            **{
                field: {"required": False, "validators": [validate_single_line]}
                for field in ["name", *translated_field_names("name")]
            },
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        names = [attrs.get(field) for field in ["name", *translated_field_names("name")]]
        if self.instance is None and not any(names):
            raise serializers.ValidationError({"name": [_("A project needs a name.")]})
        if "name" in attrs and not attrs["name"]:
            raise serializers.ValidationError({"name": [_("The name cannot be empty.")]})
        return attrs


class ProjectRefSerializer(serializers.ModelSerializer[Project]):
    class Meta:
        model = Project
        fields = ["id", "name"]


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user = UserPublicSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "role", "joined_at"]
        read_only_fields = fields


class MembershipRoleSerializer(serializers.Serializer[None]):
    role = serializers.ChoiceField(choices=Role.choices)


class InviterSerializer(serializers.Serializer[None]):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InviteCreateSerializer(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=[c for c in Role.choices if c[0] != Role.OWNER], default=Role.MEMBER)


class InviteSerializer(serializers.ModelSerializer[Invite]):
    """An invite as the project's admins see it."""

    invited_by = InviterSerializer(read_only=True, allow_null=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invite
        fields = ["id", "email", "role", "status", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=InviteStatus.choices))
    def get_status(self, invite: Invite) -> str:
        """A pending invite past its expiry reads as `expired`."""
        if invite.status == InviteStatus.PENDING and invite.is_expired():
            return InviteStatus.EXPIRED
        return invite.status


class MyInviteSerializer(serializers.ModelSerializer[Invite]):
    """An invite as its invitee sees it."""

    project = ProjectRefSerializer(read_only=True)
    invited_by = InviterSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Invite
        fields = ["id", "project", "role", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class InviteTokenSerializer(serializers.Serializer[None]):
    token = serializers.CharField(max_length=128)


class JoinedSerializer(serializers.ModelSerializer[Membership]):
    project = ProjectRefSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["project", "role", "joined_at"]
        read_only_fields = fields
