# ruff: noqa: RUF001 (Russian and Spanish text, not look-alike letters)
"""Every mail in every language: subject and body in the recipient's language, dates and times in
their language and time zone, counts with the language's plural forms."""

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, timezone, translation
from mailing.emails import compose_digest_email, compose_event_email
from mailing.selectors import Digest
from notifications.models import OutboxEvent
from taskflow_contracts.events import event_type_adapter

from projects.models import Role
from tasks import services as task_services
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

DEADLINE = datetime(2030, 3, 14, 16, 30, tzinfo=UTC)

# language → (time zone, the assignee's name, the texts the mail must say)
ASSIGNED_MAIL = {
    "en": (
        "America/New_York",
        "Ann",
        {
            "subject": "[Garden] Water the plants (#{id})",
            "hello": "Hello Ann,",
            "headline": "Ada assigned “Water the plants” to you.",
            "status": "Status: To do",
            "priority": "Priority: High",
            "deadline": "Deadline: {deadline} (America/New_York)",
            "open": "Open the task:",
        },
    ),
    "ru": (
        "Europe/Moscow",
        "Аня",
        {
            "subject": "[Сад] Полить растения (#{id})",
            "hello": "Здравствуйте, Аня!",
            "headline": "Ada назначает вам задачу «Полить растения».",
            "status": "Статус: К выполнению",
            "priority": "Приоритет: Высокий",
            "deadline": "Срок: {deadline} (Europe/Moscow)",
            "open": "Открыть задачу:",
        },
    ),
    "es": (
        "Europe/Madrid",
        "Lucía",
        {
            "subject": "[Jardín] Regar las plantas (#{id})",
            "hello": "Hola, Lucía:",
            "headline": "Ada te ha asignado «Regar las plantas».",
            "status": "Estado: Por hacer",
            "priority": "Prioridad: Alta",
            "deadline": "Fecha límite: {deadline} (Europe/Madrid)",
            "open": "Abrir la tarea:",
        },
    ),
}


def _local(value: datetime, *, language: str, zone: str, format_name: str = "DATETIME_FORMAT") -> str:
    with translation.override(language):
        return formats.date_format(timezone.localtime(value, ZoneInfo(zone)), format_name)


@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_the_assignment_mail_reads_in_the_assignees_language_and_time_zone(language):
    # given a project and task written in all three languages and an assignee who reads `language`
    zone, name, expected = ASSIGNED_MAIL[language]
    project = ProjectFactory(name_en="Garden", name_ru="Сад", name_es="Jardín")
    actor = UserFactory(name="Ada")
    assignee = UserFactory(name=name, language=language, timezone=zone)
    MembershipFactory(project=project, user=actor, role=Role.ADMIN)
    MembershipFactory(project=project, user=assignee)
    task = TaskFactory(
        project=project,
        reporter=actor,
        title_en="Water the plants",
        title_ru="Полить растения",
        title_es="Regar las plantas",
        priority="high",
        deadline=DEADLINE,
    )

    # when the task is assigned and its mail composed for the assignee
    task_services.task_update(task=task, actor=actor, fields={"assignee": assignee})
    row = OutboxEvent.objects.get(type="task.assigned")
    mail = compose_event_email(event_type_adapter.validate_python(row.envelope), user=assignee, address=assignee.email)

    # then subject and body are in their language, the deadline in their language and zone
    assert mail is not None
    deadline = _local(DEADLINE, language=language, zone=zone)
    assert mail.subject == expected["subject"].format(id=task.pk)
    for key in ("hello", "headline", "status", "priority", "deadline", "open"):
        line = expected[key].format(deadline=deadline)
        assert line in mail.text, (key, mail.text)
    assert expected["headline"] in mail.html


# language → (subject start, counted line for 1 and for 3 tasks, section headings, "due" word)
DIGEST = {
    "en": ("Your TaskFlow digest for", "You have 1 open task today.", "You have 3 open tasks today.", "Overdue", "due"),
    "ru": (
        "Ваша сводка TaskFlow за",
        "Сегодня у вас 1 открытая задача.",
        "Сегодня у вас 3 открытые задачи.",
        "Просрочено",
        "срок:",
    ),
    "es": (
        "Tu resumen de TaskFlow del",
        "Hoy tienes 1 tarea abierta.",
        "Hoy tienes 3 tareas abiertas.",
        "Vencidas",
        "vence el",
    ),
}


@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_the_digest_reads_in_the_readers_language_with_dates_in_their_zone(language):
    # given a reader in Tokyo with one overdue task
    reader = UserFactory(name="Kim", language=language, timezone="Asia/Tokyo")
    late = TaskFactory(assignee=reader, title_en="Late", title_ru="Опоздавшая", title_es="Atrasada", deadline=DEADLINE)
    subject_start, one_task, three_tasks, overdue_heading, due = DIGEST[language]
    day = date(2030, 3, 15)

    # when their digest is composed
    mail = compose_digest_email(
        Digest(overdue=[late], due_soon=[], assigned=[]), user=reader, day=day, key=uuid.uuid4()
    )

    # then the subject names the day in their language, the body counts and dates in it
    assert mail is not None
    with translation.override(language):
        assert mail.subject == f"{subject_start} {formats.date_format(day, 'DATE_FORMAT')}"
    assert one_task in mail.text
    assert one_task in mail.html
    assert f"{overdue_heading} (1)" in mail.text
    assert {"en": "Late", "ru": "Опоздавшая", "es": "Atrasada"}[language] in mail.text
    assert f"{due} {_local(DEADLINE, language=language, zone='Asia/Tokyo')}" in mail.text
    assert "Asia/Tokyo" in mail.text

    # and three distinct tasks (one listed twice) are counted as three
    others = [TaskFactory(assignee=reader, deadline=DEADLINE) for _ in range(2)]
    digest = Digest(overdue=[late, *others], due_soon=[], assigned=[late])
    assert three_tasks in compose_digest_email(digest, user=reader, day=day, key=uuid.uuid4()).text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("count", "line"),
    [
        (1, "Сегодня у вас 1 открытая задача."),
        (2, "Сегодня у вас 2 открытые задачи."),
        (4, "Сегодня у вас 4 открытые задачи."),
        (5, "Сегодня у вас 5 открытых задач."),
        (11, "Сегодня у вас 11 открытых задач."),
        (21, "Сегодня у вас 21 открытая задача."),
        (22, "Сегодня у вас 22 открытые задачи."),
    ],
)
def test_the_digest_counts_tasks_with_russian_plural_forms(count, line):
    reader = UserFactory(language="ru")
    tasks = [TaskFactory(assignee=reader) for _ in range(count)]

    mail = compose_digest_email(
        Digest(overdue=[], due_soon=[], assigned=tasks), user=reader, day=date(2030, 3, 15), key=uuid.uuid4()
    )

    assert mail is not None
    assert line in mail.text
    assert line in mail.html
