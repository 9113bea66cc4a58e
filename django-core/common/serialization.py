from datetime import datetime

from django.utils import timezone


def iso_datetime(value: datetime | None) -> str | None:
    """A datetime as DRF's DateTimeField renders it: ISO 8601 in the current time zone, with `Z`
    for UTC. For serializers that build their output by hand."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
