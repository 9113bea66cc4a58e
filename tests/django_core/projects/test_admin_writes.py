"""Project, membership and invite edits in the Django admin go through the services: one owner,
a removed member's tasks released, invites with a hashed token and their mail event."""

import hashlib

import pytest
from django.urls import reverse
from notifications.models import OutboxEvent

from projects.models import Invite, InviteStatus, Membership, Role
from tests.django_core.factories import TaskFactory


def _membership(team, role):
    return Membership.objects.get(project=team["project"], user=team[role])


def test_removing_a_membership_unassigns_the_members_tasks(
    admin_client, admin_user, team, django_capture_on_commit_callbacks
):
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"])
    member = _membership(team, "member")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:projects_membership_delete", args=[member.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Membership.objects.filter(pk=member.pk).exists()
    task.refresh_from_db()
    assert task.assignee is None
    [event] = OutboxEvent.objects.all()
    assert event.type == "project.member_removed"
    assert event.envelope["actor"]["id"] == admin_user.pk
    assert event.envelope["data"]["member"]["id"] == team["member"].pk


def test_bulk_removing_memberships_releases_tasks_too(admin_client, team):
    task = TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["member"])
    member = _membership(team, "member")

    response = admin_client.post(
        reverse("admin:projects_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [member.pk], "post": "yes"},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee is None


def test_the_owner_membership_cannot_be_deleted(admin_client, team):
    owner = _membership(team, "owner")

    admin_client.post(reverse("admin:projects_membership_delete", args=[owner.pk]), {"post": "yes"})

    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()


def test_giving_owner_in_the_admin_transfers_ownership(admin_client, team):
    admin_membership = _membership(team, "admin")

    response = admin_client.post(
        reverse("admin:projects_membership_change", args=[admin_membership.pk]), {"role": "owner"}
    )

    assert response.status_code == 302
    roles = dict(Membership.objects.filter(project=team["project"]).values_list("user_id", "role"))
    assert roles[team["admin"].pk] == Role.OWNER
    assert roles[team["owner"].pk] == Role.ADMIN
    assert list(roles.values()).count(Role.OWNER) == 1


def test_demoting_the_owner_in_the_admin_is_refused(admin_client, team):
    owner = _membership(team, "owner")

    admin_client.post(reverse("admin:projects_membership_change", args=[owner.pk]), {"role": "member"})

    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_admin_added_membership_emits_member_joined(
    admin_client, admin_user, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:projects_membership_add"),
            {"project": team["project"].pk, "user": team["outsider"].pk, "role": "member"},
        )

    assert response.status_code == 302
    assert Membership.objects.filter(project=team["project"], user=team["outsider"], role=Role.MEMBER).exists()
    [event] = OutboxEvent.objects.all()
    assert (event.type, event.envelope["actor"]["id"]) == ("project.member_joined", admin_user.pk)


def test_an_admin_added_invite_has_a_hashed_token_and_mails_the_invitee(
    admin_client, admin_user, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:projects_invite_add"),
            {"project": team["project"].pk, "email": "New.Person@Example.com", "role": "member"},
        )

    assert response.status_code == 302
    invite = Invite.objects.get()
    assert (invite.email, invite.invited_by, invite.status) == ("new.person@example.com", admin_user, "pending")
    assert invite.token_salt
    from projects.services import invite_token

    assert invite.token_hash == hashlib.sha256(invite_token(invite=invite).encode()).hexdigest()
    [event] = OutboxEvent.objects.all()
    assert event.type == "project.invited"
    assert event.envelope["actor"]["id"] == admin_user.pk
    assert event.recipients["email_addresses"] == ["new.person@example.com"]


def test_revoking_invites_in_the_admin(admin_client, team):
    from projects.services import invite_create

    invite = invite_create(project=team["project"], actor=team["owner"], email="x@example.com", role=Role.MEMBER).invite

    response = admin_client.post(
        reverse("admin:projects_invite_changelist"), {"action": "revoke_invites", "_selected_action": [invite.pk]}
    )

    assert response.status_code == 302
    invite.refresh_from_db()
    assert invite.status == InviteStatus.REVOKED


@pytest.mark.parametrize("field", ["token_hash", "token_salt"])
def test_the_invite_change_page_edits_nothing(admin_client, team, field):
    from projects.services import invite_create

    invite = invite_create(project=team["project"], actor=team["owner"], email="x@example.com", role=Role.MEMBER).invite

    response = admin_client.post(reverse("admin:projects_invite_change", args=[invite.pk]), {field: "0" * 64})

    assert response.status_code == 403
    assert getattr(Invite.objects.get(pk=invite.pk), field) == getattr(invite, field)


def test_a_project_edit_in_the_admin_goes_through_the_service(admin_client, team, monkeypatch):
    from projects import services

    calls = []
    real = services.project_update
    monkeypatch.setattr(services, "project_update", lambda **kwargs: calls.append(kwargs) or real(**kwargs))
    project = team["project"]

    response = admin_client.post(
        reverse("admin:projects_project_change", args=[project.pk]),
        {
            "name_en": "Renamed",
            "name_ru": "",
            "name_es": "",
            "description_en": "",
            "description_ru": "",
            "description_es": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    project.refresh_from_db()
    assert project.name_en == "Renamed"
    assert [(call["staff"], call["fields"]["name_en"]) for call in calls] == [(True, "Renamed")]
