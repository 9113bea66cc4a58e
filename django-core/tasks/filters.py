"""Query parameters of GET /api/tasks, validated: a bad value is a 400 naming the parameter."""

from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Case, CharField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import build_localized_fieldname, get_language, resolution_order

from tasks.models import PRIORITY_RANK, STATUS_RANK, Task, TaskPriority, TaskStatus

MAX_ID = 2**63 - 1

ORDERING_FIELDS = ("created_at", "updated_at", "deadline", "priority", "status", "title", "id")


class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class ChoiceInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """`?status=todo` or several at once: `?status=todo,review` (likewise `?priority=`)."""


class ReporterField(forms.CharField):
    """A user id, or one of `words` (`me`); anything else is a field error saying what is allowed."""

    words: tuple[str, ...] = ("me",)
    invalid_message = _("Use a user id or `me`.")

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value in ("", None, *self.words):
            return value
        if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            raise forms.ValidationError(self.invalid_message)
        return int(value)


class AssigneeField(ReporterField):
    words = ("me", "none")
    invalid_message = _("Use a user id, `me` or `none`.")


class AssigneeFilter(django_filters.Filter):
    field_class = AssigneeField


class ReporterFilter(django_filters.Filter):
    field_class = ReporterField


class OrderingField(forms.CharField):
    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if not value:
            return []
        keys = [key.strip() for key in value.split(",") if key.strip()]
        for key in keys:
            if key.lstrip("-") not in ORDERING_FIELDS:
                raise forms.ValidationError(
                    _("Order by any of: %(fields)s (prefix - for descending).") % {"fields": ", ".join(ORDERING_FIELDS)}
                )
        return keys


class OrderingParamFilter(django_filters.Filter):
    field_class = OrderingField


def _rank(field: str, ranks: dict[Any, int]) -> Case:
    return Case(*[When(**{field: key}, then=Value(rank)) for key, rank in ranks.items()], output_field=IntegerField())


class TaskFilter(django_filters.FilterSet):
    project = IdFilter(field_name="project_id")
    status = ChoiceInFilter(choices=TaskStatus.choices)
    priority = ChoiceInFilter(choices=TaskPriority.choices)
    assignee = AssigneeFilter(method="filter_assignee")
    reporter = ReporterFilter(method="filter_reporter")
    deadline_after = django_filters.IsoDateTimeFilter(field_name="deadline", lookup_expr="gte")
    deadline_before = django_filters.IsoDateTimeFilter(field_name="deadline", lookup_expr="lt")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    ordering = OrderingParamFilter(method="filter_ordering")

    class Meta:
        model = Task
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        """Built once per process: django-filter makes a new form class for every request (a
        third of what the filter set cost). The form copies its fields for each instance, so the
        shared class holds no request's state."""
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            cls._form_class = super().get_form_class()
        return cls._form_class  # type: ignore[no-any-return]

    def filter_assignee(self, queryset: QuerySet[Task], name: str, value: Any) -> QuerySet[Task]:
        if value == "me":
            return queryset.filter(assignee=self.request.user if self.request else None)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=value)

    def filter_reporter(self, queryset: QuerySet[Task], name: str, value: Any) -> QuerySet[Task]:
        if value == "me":
            return queryset.filter(reporter=self.request.user if self.request else None)
        return queryset.filter(reporter_id=value)

    def filter_search(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        """Case-insensitive substring match on title and description in every language."""
        condition = Q()
        for language in settings.MODELTRANSLATION_LANGUAGES:
            condition |= Q(**{f"title_{language}__icontains": value})
            condition |= Q(**{f"description_{language}__icontains": value})
        return queryset.filter(condition)

    def filter_ordering(self, queryset: QuerySet[Task], name: str, value: list[str]) -> QuerySet[Task]:
        order_by = []
        for key in value:
            descending, field = key.startswith("-"), key.lstrip("-")
            if field == "priority":
                queryset = queryset.annotate(priority_rank=_rank("priority", PRIORITY_RANK))
                field = "priority_rank"
            elif field == "status":
                queryset = queryset.annotate(status_rank=_rank("status", STATUS_RANK))
                field = "status_rank"
            elif field == "title":
                # The title as shown: the request language, then its fallbacks (empty falls through).
                languages = resolution_order(get_language())
                shown = [NullIf(F(build_localized_fieldname("title", lang)), Value("")) for lang in languages]
                queryset = queryset.annotate(title_shown=Coalesce(*shown, Value(""), output_field=CharField()))
                field = "title_shown"
            expression = F(field)
            # Tasks without a deadline sort after those with one, both ways.
            order_by.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
        return queryset.order_by(*order_by, "-id")
