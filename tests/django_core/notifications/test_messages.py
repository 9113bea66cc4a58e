# ruff: noqa: RUF001 (Russian text, not look-alike letters)
"""Notification texts: rendered once per recipient, in the recipient's language."""

from datetime import UTC, datetime

import pytest
from notifications.events import task_ref, user_ref
from notifications.messages import MessageContext, render_message
from notifications.models import Notification
from taskflow_contracts.events import (
    CommentRef,
    InviteRef,
    ProjectDeletedData,
    ProjectInvitedData,
    ProjectMemberJoinedData,
    ProjectMemberRemovedData,
    ProjectMemberRoleChangedData,
    ProjectRef,
    TaskAssignedData,
    TaskCommentedData,
    TaskCreatedData,
    TaskDeadlineApproachingData,
    TaskDeletedData,
    TaskOverdueData,
    TaskStatusChangedData,
    TaskUnassignedData,
    TaskUpdatedData,
)

from accounts.models import User
from projects.models import Project
from tasks.models import Task
from tests.django_core.factories import UserFactory
from tests.django_core.notifications.helpers import assert_published, only_outbox, others

pytestmark = pytest.mark.django_db


def speaks(user: User, language: str) -> User:
    user.language = language
    user.save(update_fields=["language"])
    return user


def message_for(user: User, event_type: str) -> str:
    return Notification.objects.get(recipient=user, type=event_type).message


# --- Through the API ------------------------------------------------------------------------------


def test_a_russian_reader_gets_russian_text_and_the_russian_title(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    Task.objects.filter(pk=crew.task.pk).update(title_ru="Выпустить релиз")
    speaks(crew.watcher, "ru")
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(f"/api/tasks/{crew.task.pk}", {"status": "in_progress"}, format="json")

    assert message_for(crew.watcher, "task.status_changed") == (
        "Member переводит «Выпустить релиз» из «К выполнению» в «В работе»."
    )
    assert message_for(crew.commenter, "task.status_changed") == "Member moved “Ship it” from To do to In progress."
    # Each reader's socket gets their own text; the event itself stays language-neutral.
    row = only_outbox("task.status_changed")
    assert row.envelope["data"]["task"]["title"] == "Ship it"
    told = [crew.assignee, crew.watcher, crew.commenter]
    messages = assert_published(row, listening.receive(), to=told, board=others(crew.members, told))
    assert messages[crew.watcher.pk].notification.message == message_for(crew.watcher, "task.status_changed")
    assert messages[crew.commenter.pk].notification.message == message_for(crew.commenter, "task.status_changed")


@pytest.mark.parametrize("title_ru", [None, ""])
def test_a_russian_reader_gets_the_english_title_when_no_russian_one_was_written(
    crew, client_for, django_capture_on_commit_callbacks, title_ru
):
    Task.objects.filter(pk=crew.task.pk).update(title_ru=title_ru)
    speaks(crew.watcher, "ru")

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).post(f"/api/tasks/{crew.task.pk}/comments", {"body": "Готово?"}, format="json")

    assert message_for(crew.watcher, "task.commented") == "Owner комментирует «Ship it»: Готово?"


def test_the_actors_language_does_not_matter(crew, client_for, django_capture_on_commit_callbacks):
    Task.objects.filter(pk=crew.task.pk).update(title_ru="Выпустить релиз")
    actor = speaks(crew.reporter, "ru")
    speaks(crew.watcher, "ru")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(actor).patch(
            f"/api/tasks/{crew.task.pk}", {"status": "done"}, format="json", HTTP_ACCEPT_LANGUAGE="ru"
        )

    assert response.status_code == 200
    assert message_for(crew.commenter, "task.status_changed") == "Member moved “Ship it” from To do to Done."
    assert message_for(crew.watcher, "task.status_changed") == (
        "Member переводит «Выпустить релиз» из «К выполнению» в «Готово»."
    )


def test_an_invite_reads_in_the_invitees_language_with_the_russian_project_name(
    team, client_for, django_capture_on_commit_callbacks
):
    project, invitee = team["project"], speaks(team["outsider"], "ru")
    Project.objects.filter(pk=project.pk).update(name_ru="Проект Альфа")

    with django_capture_on_commit_callbacks(execute=True):
        client_for(team["owner"]).post(
            f"/api/projects/{project.pk}/invites", {"email": invitee.email, "role": "member"}, format="json"
        )

    assert message_for(invitee, "project.invited") == "Owner приглашает вас в «Проект Альфа», роль: участник."
    assert only_outbox("project.invited").envelope["data"]["project"]["name"] == project.name_en


def test_removal_reads_differently_for_the_removed_and_for_the_admins(
    team, client_for, django_capture_on_commit_callbacks
):
    project, removed = team["project"], speaks(team["member"], "ru")

    with django_capture_on_commit_callbacks(execute=True):
        client_for(team["owner"]).delete(f"/api/projects/{project.pk}/members/{removed.pk}")

    assert message_for(removed, "project.member_removed") == f"Вы больше не участник «{project.name}»."
    assert message_for(team["admin"], "project.member_removed") == f"Member is no longer a member of “{project.name}”."


# --- Every type, in both languages ----------------------------------------------------------------


@pytest.fixture
def scene(team) -> dict:
    project = team["project"]
    Project.objects.filter(pk=project.pk).update(name_en="Alpha", name_ru="Альфа")
    project.refresh_from_db()
    task = Task.objects.create(
        project=project, title_en="Ship it", title_ru="Отгрузить", reporter=team["member"], status="review"
    )
    reader = UserFactory(name="Reader")
    return {"project": project, "task": task, "reader": reader, "other": UserFactory(name="Ann")}


def render(scene, event_type, data, *, language, actor="Ada", about="task"):
    context = MessageContext(
        event_type=event_type,
        actor_name=actor,
        data=data,
        task=scene["task"] if about == "task" else None,
        project=scene["project"] if about == "project" else None,
    )
    return render_message(context, speaks(scene["reader"], language))


def test_every_task_event_has_a_message_in_english_and_russian(scene):
    task, reader, other = scene["task"], scene["reader"], scene["other"]
    ref = task_ref(task)
    cases = [
        ("task.created", TaskCreatedData(task=ref), "Ada created “Ship it”.", "Ada: новая задача «Отгрузить»."),
        (
            "task.assigned",
            TaskAssignedData(task=ref, assignee=user_ref(reader)),
            "Ada assigned “Ship it” to you.",
            "Ada назначает вам задачу «Отгрузить».",
        ),
        (
            "task.assigned",
            TaskAssignedData(task=ref, assignee=user_ref(other)),
            "Ada assigned “Ship it” to Ann.",
            "Ada назначает задачу «Отгрузить» исполнителю Ann.",
        ),
        (
            "task.unassigned",
            TaskUnassignedData(task=ref, previous_assignee=user_ref(reader)),
            "Ada took “Ship it” off you.",
            "Ada снимает с вас задачу «Отгрузить».",
        ),
        (
            "task.unassigned",
            TaskUnassignedData(task=ref, previous_assignee=user_ref(other)),
            "Ada unassigned Ann from “Ship it”.",
            "Ada снимает исполнителя Ann с задачи «Отгрузить».",
        ),
        (
            "task.status_changed",
            TaskStatusChangedData(task=ref, **{"from": "in_progress"}, to="review"),
            "Ada moved “Ship it” from In progress to Review.",
            "Ada переводит «Отгрузить» из «В работе» в «На проверке».",
        ),
        (
            "task.updated",
            TaskUpdatedData(task=ref, changes=["title"]),
            "Ada updated “Ship it”.",
            "Ada обновляет задачу «Отгрузить».",
        ),
        (
            "task.commented",
            TaskCommentedData(task=ref, comment=CommentRef(id=1, body="Nice", author_id=None)),
            "Ada commented on “Ship it”: Nice",
            "Ada комментирует «Отгрузить»: Nice",
        ),
        (
            "task.deadline_approaching",
            TaskDeadlineApproachingData(task=ref, window="24h"),
            "“Ship it” is due within 24 hours.",
            "Срок задачи «Отгрузить» истекает в течение суток.",
        ),
        (
            "task.deadline_approaching",
            TaskDeadlineApproachingData(task=ref, window="1h"),
            "“Ship it” is due within the hour.",
            "Срок задачи «Отгрузить» истекает в течение часа.",
        ),
        ("task.overdue", TaskOverdueData(task=ref), "“Ship it” is overdue.", "Задача «Отгрузить» просрочена."),
    ]
    for event_type, data, english, russian in cases:
        assert render(scene, event_type, data, language="en") == english
        assert render(scene, event_type, data, language="ru") == russian


def test_every_project_event_has_a_message_in_english_and_russian(scene):
    reader, other = scene["reader"], scene["other"]
    project = ProjectRef(id=scene["project"].pk, name="Alpha")
    invite = InviteRef(id=1, email=reader.email, role="viewer", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    cases = [
        (
            "project.invited",
            ProjectInvitedData(project=project, invite=invite),
            "Ada invited you to “Alpha” as viewer.",
            "Ada приглашает вас в «Альфа», роль: наблюдатель.",
        ),
        (
            "project.member_joined",
            ProjectMemberJoinedData(project=project, member=user_ref(other), role="member"),
            "Ann joined “Alpha”.",
            "Ann присоединяется к «Альфа».",
        ),
        (
            "project.member_removed",
            ProjectMemberRemovedData(project=project, member=user_ref(reader)),
            "You are no longer a member of “Alpha”.",
            "Вы больше не участник «Альфа».",
        ),
        (
            "project.member_removed",
            ProjectMemberRemovedData(project=project, member=user_ref(other)),
            "Ann is no longer a member of “Alpha”.",
            "Ann больше не участник «Альфа».",
        ),
    ]
    for event_type, data, english, russian in cases:
        assert render(scene, event_type, data, language="en", about="project") == english
        assert render(scene, event_type, data, language="ru", about="project") == russian


def test_the_board_era_events_have_a_message_in_english_russian_and_spanish(scene):
    reader, other = scene["reader"], scene["other"]
    project = ProjectRef(id=scene["project"].pk, name="Alpha")
    Task.objects.filter(pk=scene["task"].pk).update(title_es="Enviarlo")
    Project.objects.filter(pk=scene["project"].pk).update(name_es="Alfa")
    scene["task"].refresh_from_db()
    scene["project"].refresh_from_db()
    cases = [
        (
            "project.member_role_changed",
            "project",
            ProjectMemberRoleChangedData(
                project=project, member=user_ref(reader), role="admin", previous_role="member"
            ),
            "Ada made you admin in “Alpha”.",
            "Ada меняет вашу роль в «Альфа»: администратор.",
            "Ada te ha dado el rol de administrador en «Alfa».",
        ),
        (
            "project.member_role_changed",
            "project",
            ProjectMemberRoleChangedData(
                project=project, member=user_ref(other), role="viewer", previous_role="member"
            ),
            "Ada made Ann viewer in “Alpha”.",
            "Ada меняет роль Ann в «Альфа»: наблюдатель.",
            "Ada ha dado a Ann el rol de lector en «Alfa».",
        ),
        (
            "project.deleted",
            "project",
            ProjectDeletedData(project=project),
            "Ada deleted the project “Alpha”.",
            "Ada удаляет проект «Альфа».",
            "Ada ha eliminado el proyecto «Alfa».",
        ),
        (
            "task.deleted",
            "task",
            TaskDeletedData(task=task_ref(scene["task"])),
            "Ada deleted “Ship it”.",
            "Ada удаляет задачу «Отгрузить».",
            "Ada ha eliminado «Enviarlo».",
        ),
    ]
    for event_type, about, data, english, russian, spanish in cases:
        assert render(scene, event_type, data, language="en", about=about) == english
        assert render(scene, event_type, data, language="ru", about=about) == russian
        assert render(scene, event_type, data, language="es", about=about) == spanish


def test_a_message_without_an_actor_names_taskflow(scene):
    data = TaskCreatedData(task=task_ref(scene["task"]))

    assert render(scene, "task.created", data, language="en", actor=None) == "TaskFlow created “Ship it”."


def test_a_long_comment_is_cut_to_an_excerpt_on_one_line(scene):
    body = "First line\n\n" + "word " * 60
    data = TaskCommentedData(task=task_ref(scene["task"]), comment=CommentRef(id=1, body=body, author_id=None))

    message = render(scene, "task.commented", data, language="en")

    excerpt = message.removeprefix("Ada commented on “Ship it”: ")
    assert len(excerpt) == 120
    assert excerpt.startswith("First line word word")
    assert excerpt.endswith("…")
    assert "\n" not in message


def test_task_and_project_messages_in_spanish_with_the_spanish_title(scene):
    Task.objects.filter(pk=scene["task"].pk).update(title_es="Enviarlo")
    Project.objects.filter(pk=scene["project"].pk).update(name_es="Alfa")
    scene["task"].refresh_from_db()
    scene["project"].refresh_from_db()
    reader, other, ref = scene["reader"], scene["other"], task_ref(scene["task"])
    project = ProjectRef(id=scene["project"].pk, name="Alpha")
    invite = InviteRef(id=1, email=reader.email, role="viewer", expires_at=datetime(2030, 1, 1, tzinfo=UTC))
    cases = [
        ("task.created", "task", TaskCreatedData(task=ref), "Ada ha creado «Enviarlo»."),
        (
            "task.assigned",
            "task",
            TaskAssignedData(task=ref, assignee=user_ref(reader)),
            "Ada te ha asignado «Enviarlo».",
        ),
        (
            "task.assigned",
            "task",
            TaskAssignedData(task=ref, assignee=user_ref(other)),
            "Ada ha asignado «Enviarlo» a Ann.",
        ),
        (
            "task.status_changed",
            "task",
            TaskStatusChangedData(task=ref, **{"from": "in_progress"}, to="review"),
            "Ada ha movido «Enviarlo» de En curso a En revisión.",
        ),
        (
            "task.commented",
            "task",
            TaskCommentedData(task=ref, comment=CommentRef(id=1, body="Bien", author_id=None)),
            "Ada ha comentado en «Enviarlo»: Bien",
        ),
        (
            "task.deadline_approaching",
            "task",
            TaskDeadlineApproachingData(task=ref, window="1h"),
            "«Enviarlo» vence en menos de una hora.",
        ),
        ("task.overdue", "task", TaskOverdueData(task=ref), "«Enviarlo» está vencida."),
        (
            "project.invited",
            "project",
            ProjectInvitedData(project=project, invite=invite),
            "Ada te ha invitado a «Alfa» como lector.",
        ),
        (
            "project.member_removed",
            "project",
            ProjectMemberRemovedData(project=project, member=user_ref(reader)),
            "Ya no eres miembro de «Alfa».",
        ),
    ]
    for event_type, about, data, spanish in cases:
        assert render(scene, event_type, data, language="es", about=about) == spanish
