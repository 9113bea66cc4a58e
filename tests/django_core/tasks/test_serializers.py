"""The task serializers build their output by hand for speed; it must equal what DRF's declared
fields would produce, so the OpenAPI schema (derived from those fields) stays true."""

from datetime import UTC, datetime

import pytest
from rest_framework import serializers

from tasks.models import TaskWatcher
from tasks.selectors import task_get_for_user, task_list_for_user
from tasks.serializers import TaskDetailSerializer, TaskSerializer
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory


@pytest.fixture
def full_task(db):
    reporter, assignee = UserFactory(), UserFactory()
    task = TaskFactory(
        reporter=reporter,
        assignee=assignee,
        title_ru="Задача",
        description_ru="Описание",
        deadline=datetime(2027, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        completed_at=datetime(2027, 1, 1, tzinfo=UTC),
        status="done",
        priority="urgent",
    )
    for person in (reporter, assignee):
        MembershipFactory(project=task.project, user=person)
    TaskWatcher.objects.create(task=task, user=reporter)
    return task


def generic(serializer: serializers.ModelSerializer, task) -> dict:
    return serializers.ModelSerializer.to_representation(serializer, task)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_list_representation_equals_the_declared_fields(full_task, language, settings):
    from django.utils import translation

    task = task_list_for_user(user=full_task.reporter).get(pk=full_task.pk)

    with translation.override(language):
        fast = TaskSerializer(task).data
        slow = generic(TaskSerializer(), task)

    assert fast == slow
    assert fast["is_watching"] is True
    assert fast["deadline"] == "2027-01-02T03:04:05.678901Z"


def test_detail_representation_equals_the_declared_fields(full_task):
    task = task_get_for_user(task_id=full_task.pk, user=full_task.assignee)
    task.watcher_users = [full_task.reporter]

    fast = TaskDetailSerializer(task).data
    slow = generic(TaskDetailSerializer(), task)

    assert fast == slow
    assert fast["is_watching"] is False
    assert [w["id"] for w in fast["watchers"]] == [full_task.reporter.pk]


def test_a_task_without_people_or_dates(db):
    task = TaskFactory(reporter=None, assignee=None, deadline=None)
    MembershipFactory(project=task.project)
    task.is_watching = False

    assert TaskSerializer(task).data == generic(TaskSerializer(), task)
