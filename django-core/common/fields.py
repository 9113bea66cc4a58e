"""Serializer fields shared by the apps."""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# C0 controls (tab and newlines included), DEL and the C1 controls: nothing a title or a name
# shows, and line breaks or escape sequences in one break the e-mail subjects, Telegram
# messages and log lines these values end up in.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value: str) -> None:
    if _CONTROL_CHARACTERS.search(value):
        raise ValidationError(_("Line breaks and control characters are not allowed here."), code="control_characters")


class SingleLineCharField(serializers.CharField):
    """A CharField for one line of text (task titles, project names, user names): control
    characters, tab and line breaks included, are a field error."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_single_line)
