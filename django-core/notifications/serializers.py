from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from common.serialization import iso_datetime
from notifications.models import Notification
from notifications.preferences import USER_FACING_TYPES, channels_offered


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    class Meta:
        model = Notification
        fields = ["id", "event_id", "type", "message", "data", "is_read", "created_at"]
        read_only_fields = fields

    def to_representation(self, notification: Notification) -> dict[str, Any]:
        """The declared fields, built directly (as tasks.serializers.TaskSerializer): DRF building
        and running the fields cost more than the query on a page of 20. The declared fields stay
        the schema; tests/django_core/notifications/test_notifications_api.py compares both paths."""
        return {
            "id": notification.pk,
            "event_id": str(notification.event_id),
            "type": notification.type,
            "message": notification.message,
            "data": notification.data,
            "is_read": notification.is_read,
            "created_at": iso_datetime(notification.created_at),
        }


class UnreadCountSerializer(serializers.Serializer[None]):
    count = serializers.IntegerField()


class ReadAllSerializer(serializers.Serializer[None]):
    updated = serializers.IntegerField()


class JSONBooleanField(serializers.BooleanField):
    """JSON `true` or `false` only: DRF's BooleanField would also take "yes", "on" or 1."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ChannelsSerializer(serializers.Serializer[None]):
    web = JSONBooleanField(required=False)
    email = JSONBooleanField(required=False)
    telegram = JSONBooleanField(required=False)


class PreferencesSerializer(serializers.Serializer[None]):
    """`{<event type>: {web, email?, telegram}}` (email only for the types that are mailed); on
    PUT any subset of types and of their channels."""

    def to_internal_value(self, data: Any) -> dict[str, dict[str, bool]]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": [_("Send an object keyed by event type.")]})
        errors: dict[str, Any] = {}
        result: dict[str, dict[str, bool]] = {}
        for event_type, channels in data.items():
            if event_type not in USER_FACING_TYPES:
                errors[str(event_type)] = [_("Unknown event type.")]
                continue
            channel_serializer = ChannelsSerializer(data=channels)
            offered = channels_offered(event_type)
            if not isinstance(channels, dict) or set(channels) - set(offered):
                # Only the channels this type is delivered on (no email for most types).
                errors[event_type] = [
                    _("Use an object with %(channels)s set to true or false.") % {"channels": " / ".join(offered)}
                ]
            elif not channel_serializer.is_valid():
                errors[event_type] = channel_serializer.errors
            else:
                result[event_type] = dict(channel_serializer.validated_data)
        if errors:
            raise serializers.ValidationError(errors)
        return result

    def to_representation(self, instance: Any) -> Any:
        return instance
