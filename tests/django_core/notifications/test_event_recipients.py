"""Every event a service produces, triggered through the HTTP API: who gets a notification and
who does not, the outbox row, and what a real subscriber on the real Redis receives."""

import pytest
from django.urls import reverse
from notifications.models import Notification, OutboxEvent
from taskflow_contracts import Actor

from accounts.services import token_pair_for, user_deactivate
from projects import services as project_services
from projects.models import Role
from tasks.models import Task
from tests.django_core.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from tests.django_core.notifications.helpers import (
    NO_RECIPIENTS,
    assert_published,
    envelope_of,
    notified,
    only_outbox,
    others,
    outbox_rows,
    pks,
    stream_entries,
)

pytestmark = pytest.mark.django_db


def task_url(task: Task) -> str:
    return f"/api/tasks/{task.pk}"


# --- project.* ------------------------------------------------------------------------------------


def test_invite_of_an_existing_user_notifies_only_the_invitee(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, owner, invitee = team["project"], team["owner"], team["outsider"]
    listening = subscriber.listen(owner, team["admin"], team["member"], team["viewer"], invitee)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            f"/api/projects/{project.pk}/invites", {"email": invitee.email, "role": "member"}, format="json"
        )

    assert response.status_code == 201
    row = only_outbox("project.invited")
    event = envelope_of(row)
    assert event.actor == Actor(id=owner.pk, name=owner.name)
    assert event.data.project.id == project.pk
    assert event.data.invite.id == response.json()["id"]
    assert (event.data.invite.email, event.data.invite.role) == (invitee.email, "member")
    assert row.recipients == {**NO_RECIPIENTS, "web": [invitee.pk], "email": [invitee.pk]}
    assert notified(row) == [invitee.pk]
    assert_published(row, listening.receive(), to=[invitee])


def test_invite_of_an_email_without_an_account_goes_to_that_address_only(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, owner = team["project"], team["owner"]
    listening = subscriber.listen(owner, team["admin"], team["member"], team["outsider"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).post(
            f"/api/projects/{project.pk}/invites", {"email": " NewComer@Example.com ", "role": "viewer"}, format="json"
        )

    assert response.status_code == 201
    row = only_outbox("project.invited")
    assert envelope_of(row).data.invite.email == "newcomer@example.com"
    assert row.recipients == {**NO_RECIPIENTS, "email_addresses": ["newcomer@example.com"]}
    assert row.deliveries == []
    assert not Notification.objects.exists()
    assert_published(row, listening.receive(), to=[])


def test_member_joined_notifies_the_project_admins_but_not_the_joiner(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, owner, admin, joiner = team["project"], team["owner"], team["admin"], team["outsider"]
    with django_capture_on_commit_callbacks(execute=True):
        invite = project_services.invite_create(project=project, actor=owner, email=joiner.email, role=Role.MEMBER)
    listening = subscriber.listen(owner, admin, team["member"], team["viewer"], joiner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(joiner).post(f"/api/invites/{invite.invite.pk}/accept")

    assert response.status_code == 201
    row = only_outbox("project.member_joined")
    event = envelope_of(row)
    assert event.actor == Actor(id=joiner.pk, name=joiner.name)
    assert (event.data.project.id, event.data.member.id, event.data.role) == (project.pk, joiner.pk, "member")
    assert row.recipients == {**NO_RECIPIENTS, "web": pks([owner, admin])}
    assert notified(row) == pks([owner, admin])
    # Every member's board hears of the joiner (the joiner's own other tabs too), unnotified.
    assert_published(row, listening.receive(), to=[owner, admin], board=[team["member"], team["viewer"], joiner])


def test_member_removed_notifies_the_admins_and_the_removed_member(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, owner, admin, removed = team["project"], team["owner"], team["admin"], team["member"]
    listening = subscriber.listen(owner, admin, removed, team["viewer"], team["outsider"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).delete(f"/api/projects/{project.pk}/members/{removed.pk}")

    assert response.status_code == 204
    row = only_outbox("project.member_removed")
    event = envelope_of(row)
    assert event.actor == Actor(id=owner.pk, name=owner.name)
    assert (event.data.project.id, event.data.member.id) == (project.pk, removed.pk)
    # The removed person hears of it although no longer a member; the owner acted.
    assert row.recipients == {**NO_RECIPIENTS, "web": pks([admin, removed])}
    assert notified(row) == pks([admin, removed])
    # The other members' boards (the acting owner's too) drop the member; the outsider hears nothing.
    assert_published(row, listening.receive(), to=[admin, removed], board=[owner, team["viewer"]])


def test_a_member_who_leaves_is_not_told_of_their_own_leaving(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, owner, admin, leaver = team["project"], team["owner"], team["admin"], team["member"]
    listening = subscriber.listen(owner, admin, leaver, team["viewer"])

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(leaver).delete(f"/api/projects/{project.pk}/members/{leaver.pk}")

    assert response.status_code == 204
    row = only_outbox("project.member_removed")
    assert notified(row) == pks([owner, admin])
    # The leaver's own board frame (their other tabs) comes without a notification.
    assert_published(row, listening.receive(), to=[owner, admin], board=[leaver, team["viewer"]])


# --- task.* ---------------------------------------------------------------------------------------


def test_a_new_task_reaches_its_assignee_once_through_task_assigned(
    team, client_for, subscriber, django_capture_on_commit_callbacks
):
    project, reporter, assignee = team["project"], team["member"], team["admin"]
    listening = subscriber.listen(*(team[key] for key in ("owner", "admin", "member", "viewer", "outsider")))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(reporter).post(
            "/api/tasks", {"project": project.pk, "title": "Write docs", "assignee": assignee.pk}, format="json"
        )

    assert response.status_code == 201
    task_id = response.json()["id"]
    # A new task's audience is its reporter (the actor) and its assignee, who hears of it through
    # task.assigned rather than twice: task.created notifies nobody, it only puts the card on
    # every member's board.
    assert [row.type for row in outbox_rows()] == ["task.created", "task.assigned"]
    created, assigned = outbox_rows()
    assert created.recipients == NO_RECIPIENTS
    assert notified(created) == []
    event = envelope_of(assigned)
    assert event.actor == Actor(id=reporter.pk, name=reporter.name)
    assert event.data.task.model_dump() == {
        "id": task_id,
        "title": "Write docs",
        "status": "todo",
        "priority": "medium",
        "project_id": project.pk,
        "assignee_id": assignee.pk,
        "deadline": None,
        "rank": Task.objects.get(pk=task_id).rank,
    }
    assert event.data.assignee.id == assignee.pk
    assert event.data.previous_assignee_id is None
    assert assigned.recipients == {**NO_RECIPIENTS, "web": [assignee.pk], "email": [assignee.pk]}
    assert notified(assigned) == [assignee.pk]
    assert Notification.objects.count() == 1
    members = [team[key] for key in ("owner", "admin", "member", "viewer")]
    frames = listening.receive()
    assert_published(created, frames, to=[], board=members)
    assert_published(assigned, frames, to=[assignee], board=others(members, [assignee]))


def test_reassignment_tells_both_assignees_the_watchers_and_the_commenters(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.reporter).patch(task_url(crew.task), {"assignee": crew.bystander.pk}, format="json")

    assert response.status_code == 200
    assigned, unassigned = outbox_rows()
    assert (assigned.type, unassigned.type) == ("task.assigned", "task.unassigned")
    audience = [crew.bystander, crew.assignee, crew.watcher, crew.commenter]
    event = envelope_of(assigned)
    assert event.actor == Actor(id=crew.reporter.pk, name=crew.reporter.name)
    assert event.data.assignee.id == crew.bystander.pk
    assert event.data.previous_assignee_id == crew.assignee.pk
    assert event.data.task.assignee_id == crew.bystander.pk
    assert assigned.recipients == {**NO_RECIPIENTS, "web": pks(audience), "email": pks(audience)}
    assert notified(assigned) == pks(audience)
    event = envelope_of(unassigned)
    assert event.data.previous_assignee.id == crew.assignee.pk
    assert event.data.task.assignee_id == crew.bystander.pk
    assert unassigned.recipients == {**NO_RECIPIENTS, "web": pks(audience)}
    assert notified(unassigned) == pks(audience)
    frames = listening.receive()
    assert_published(assigned, frames, to=audience, board=others(crew.members, audience))
    assert_published(unassigned, frames, to=audience, board=others(crew.members, audience))


def test_unassignment_tells_the_previous_assignee(crew, client_for, subscriber, django_capture_on_commit_callbacks):
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.reporter).patch(task_url(crew.task), {"assignee": None}, format="json")

    assert response.status_code == 200
    row = only_outbox("task.unassigned")
    assert [r.type for r in outbox_rows()] == ["task.unassigned"]
    event = envelope_of(row)
    assert event.data.previous_assignee.id == crew.assignee.pk
    assert event.data.task.assignee_id is None
    audience = [crew.assignee, crew.watcher, crew.commenter]
    assert row.recipients == {**NO_RECIPIENTS, "web": pks(audience)}
    assert notified(row) == pks(audience)
    assert_published(row, listening.receive(), to=audience, board=others(crew.members, audience))


def test_status_change_tells_the_audience_but_not_the_assignee_who_moved_it(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.assignee).patch(task_url(crew.task), {"status": "review"}, format="json")

    assert response.status_code == 200
    assert [r.type for r in outbox_rows()] == ["task.status_changed"]
    row = only_outbox("task.status_changed")
    event = envelope_of(row)
    assert event.actor == Actor(id=crew.assignee.pk, name=crew.assignee.name)
    assert (event.data.from_, event.data.to, event.data.task.status) == ("todo", "review", "review")
    audience = [crew.reporter, crew.watcher, crew.commenter]
    assert row.recipients == {**NO_RECIPIENTS, "web": pks(audience)}
    assert notified(row) == pks(audience)
    assert_published(row, listening.receive(), to=audience, board=others(crew.members, audience))


def test_update_tells_the_audience_but_not_the_editor(crew, client_for, subscriber, django_capture_on_commit_callbacks):
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.commenter).patch(
            task_url(crew.task), {"title": "Ship it today", "priority": "urgent"}, format="json"
        )

    assert response.status_code == 200
    assert [r.type for r in outbox_rows()] == ["task.updated"]
    row = only_outbox("task.updated")
    event = envelope_of(row)
    assert event.data.changes == ["priority", "title"]
    assert (event.data.task.title, event.data.task.priority) == ("Ship it today", "urgent")
    audience = [crew.reporter, crew.assignee, crew.watcher]
    assert row.recipients == {**NO_RECIPIENTS, "web": pks(audience)}
    assert notified(row) == pks(audience)
    assert_published(row, listening.receive(), to=audience, board=others(crew.members, audience))


def test_comment_tells_everyone_involved_but_its_author(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(*crew.everyone)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.owner).post(
            f"{task_url(crew.task)}/comments", {"body": "Ship it on Friday"}, format="json"
        )

    assert response.status_code == 201
    row = only_outbox("task.commented")
    event = envelope_of(row)
    assert event.actor == Actor(id=crew.owner.pk, name=crew.owner.name)
    assert event.data.comment.model_dump() == {
        "id": response.json()["id"],
        "body": "Ship it on Friday",
        "author_id": crew.owner.pk,
    }
    assert event.data.task.id == crew.task.pk
    # The admin is in the project but not involved; the outsider's watch row is stale.
    assert row.recipients == {**NO_RECIPIENTS, "web": pks(crew.involved)}
    assert notified(row) == pks(crew.involved)
    assert_published(row, listening.receive(), to=crew.involved, board=others(crew.members, crew.involved))


# --- user.revoked ---------------------------------------------------------------------------------


def assert_revoked(row: OutboxEvent, *, user, actor, reason: str, frames) -> None:
    event = envelope_of(row)
    assert event.actor == (Actor(id=actor.pk, name=actor.name) if actor is not None else None)
    assert event.data.model_dump() == {"user_id": user.pk, "reason": reason}
    # A system event: to the user's sockets only, whoever acted, and never stored as a notification.
    assert row.recipients == {**NO_RECIPIENTS, "web": [user.pk]}
    assert row.deliveries == [{"user_id": user.pk, "notification": None}]
    assert notified(row) == []
    messages = assert_published(row, frames, to=[], board=[user])
    assert messages[user.pk].notification is None


def test_logout_revokes_the_users_sockets(user, other_user, api_client, subscriber, django_capture_on_commit_callbacks):
    listening = subscriber.listen(user, other_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/auth/logout", {"refresh": token_pair_for(user).refresh}, format="json")

    assert response.status_code == 204
    assert_revoked(only_outbox("user.revoked"), user=user, actor=user, reason="logout", frames=listening.receive())


def test_password_change_revokes_the_users_sockets(
    user, other_user, client_for, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(user, other_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            "/api/users/me/password",
            {"current_password": DEFAULT_PASSWORD, "new_password": "violet quarry engine 19"},
            format="json",
        )

    assert response.status_code == 200
    row = only_outbox("user.revoked")
    assert_revoked(row, user=user, actor=user, reason="password_change", frames=listening.receive())


def test_deactivation_in_the_admin_revokes_the_users_sockets(
    user, other_user, staff, staff_client, subscriber, django_capture_on_commit_callbacks
):
    listening = subscriber.listen(user, other_user, staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "deactivate_users", "_selected_action": [user.pk]},
        )

    assert response.status_code == 302
    row = only_outbox("user.revoked")
    assert_revoked(row, user=user, actor=staff, reason="deactivated", frames=listening.receive())


# --- Who is in a task's audience ------------------------------------------------------------------


def test_a_viewer_hears_of_a_task_while_watching_it_and_not_after_unwatching(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    viewer = UserFactory(name="Curious viewer")
    MembershipFactory(project=crew.project, user=viewer, role=Role.VIEWER)
    assert client_for(viewer).post(f"{task_url(crew.task)}/watch").status_code == 204
    listening = subscriber.listen(viewer)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(task_url(crew.task), {"status": "in_progress"}, format="json")
    assert client_for(viewer).delete(f"{task_url(crew.task)}/watch").status_code == 204
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(task_url(crew.task), {"status": "review"}, format="json")

    watched, unwatched = outbox_rows("task.status_changed")
    assert viewer.pk in notified(watched)
    assert viewer.pk not in notified(unwatched)
    # As a member the viewer's board follows both changes; only the watched one notifies.
    frames = listening.receive()
    assert [frame.body["event"]["id"] for frame in frames] == [str(watched.event_id), str(unwatched.event_id)]
    assert (
        frames[0].body["notification"]["id"] == Notification.objects.get(recipient=viewer, event_id=watched.event_id).pk
    )
    assert frames[1].body["notification"] is None


def test_a_removed_member_no_longer_hears_of_a_task_they_commented_on(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(crew.owner).delete(f"/api/projects/{crew.project.pk}/members/{crew.commenter.pk}")
    assert response.status_code == 204
    listening = subscriber.listen(crew.commenter)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(task_url(crew.task), {"status": "done"}, format="json")

    row = only_outbox("task.status_changed")
    assert notified(row) == pks([crew.assignee, crew.watcher])
    assert crew.commenter.pk not in row.recipients["email"] + row.recipients["telegram"]
    assert crew.commenter.pk not in [delivery["user_id"] for delivery in row.deliveries]
    assert listening.receive() == []
    assert [message["event"]["type"] for _, message in stream_entries(crew.commenter)] == ["project.member_removed"]


def test_a_removed_assignee_no_longer_hears_of_their_former_task(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).delete(f"/api/projects/{crew.project.pk}/members/{crew.assignee.pk}")
    listening = subscriber.listen(crew.assignee)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.owner).post(f"{task_url(crew.task)}/comments", {"body": "Who takes this?"}, format="json")

    row = only_outbox("task.commented")
    assert notified(row) == pks([crew.reporter, crew.watcher, crew.commenter])
    assert crew.assignee.pk not in [delivery["user_id"] for delivery in row.deliveries]
    assert listening.receive() == []


def test_a_deactivated_user_hears_nothing(crew, client_for, subscriber, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user_deactivate(user=crew.watcher)
    listening = subscriber.listen(crew.watcher)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(crew.reporter).patch(task_url(crew.task), {"priority": "high"}, format="json")

    row = only_outbox("task.updated")
    assert notified(row) == pks([crew.assignee, crew.commenter])
    assert crew.watcher.pk not in [delivery["user_id"] for delivery in row.deliveries]
    assert listening.receive() == []


def test_the_actor_never_hears_of_their_own_change_although_they_watch_comment_and_are_assigned(
    crew, client_for, subscriber, django_capture_on_commit_callbacks
):
    actor = crew.assignee
    with django_capture_on_commit_callbacks(execute=True):
        client_for(actor).post(f"{task_url(crew.task)}/comments", {"body": "On it"}, format="json")
    listening = subscriber.listen(actor)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(actor).patch(task_url(crew.task), {"status": "in_progress", "priority": "low"}, format="json")
        client_for(actor).post(f"{task_url(crew.task)}/comments", {"body": "Half done"}, format="json")

    rows = outbox_rows("task.status_changed", "task.updated", "task.commented")
    assert [row.type for row in rows] == ["task.commented", "task.status_changed", "task.updated", "task.commented"]
    for row in rows:
        assert actor.pk not in notified(row)
        assert all(actor.pk not in row.recipients[channel] for channel in ("web", "email", "telegram"))
    # The actor's own board (their other tabs) follows the change, with nothing to be notified of.
    frames = listening.receive()
    assert [frame.body["event"]["id"] for frame in frames] == [str(row.event_id) for row in rows[1:]]
    assert all(frame.body["notification"] is None for frame in frames)
    assert not Notification.objects.filter(recipient=actor).exists()
