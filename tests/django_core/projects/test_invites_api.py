import hashlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from projects.models import Invite, InviteStatus, Membership, Role
from tests.django_core.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.django_core.projects.helpers import MISSING_ID, NOT_FOUND, db_snapshot, roles_of

pytestmark = pytest.mark.django_db


def invites_url(project) -> str:
    return f"/api/projects/{project.pk}/invites"


def expire(invite: Invite) -> None:
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


# --- create ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admin_and_owner_invite(team, client_for, role):
    actor = team[role]
    before = timezone.now()

    response = client_for(actor).post(
        invites_url(team["project"]), {"email": "new@example.com", "role": "viewer"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("email", "role", "status")} == {
        "email": "new@example.com",
        "role": "viewer",
        "status": "pending",
    }
    assert body["invited_by"] == {"id": actor.pk, "name": actor.name}
    assert not {"token", "token_hash"} & set(body)
    invite = Invite.objects.get(pk=body["id"])
    assert invite.project == team["project"]
    assert invite.invited_by == actor
    assert before + settings.INVITE_TTL <= invite.expires_at <= timezone.now() + settings.INVITE_TTL


def test_invite_role_defaults_to_member(team, client_for):
    response = client_for(team["admin"]).post(invites_url(team["project"]), {"email": "x@example.com"}, format="json")

    assert response.status_code == 201
    assert response.json()["role"] == "member"


@pytest.mark.parametrize(("actor", "role"), [("owner", "admin"), ("admin", "admin"), ("admin", "member")])
def test_invite_up_to_the_actors_role(team, client_for, actor, role):
    response = client_for(team[actor]).post(
        invites_url(team["project"]), {"email": "x@example.com", "role": role}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["role"] == role


@pytest.mark.parametrize("actor", ["owner", "admin"])
def test_invite_never_with_the_owner_role(team, client_for, actor):
    response = client_for(team[actor]).post(
        invites_url(team["project"]), {"email": "x@example.com", "role": "owner"}, format="json"
    )

    assert response.status_code == 400
    assert "role" in response.json()
    assert not Invite.objects.exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_invite(team, client_for, role):
    response = client_for(team[role]).post(
        invites_url(team["project"]), {"email": "x@example.com", "role": "viewer"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert not Invite.objects.exists()


def test_invite_email_is_lower_cased_and_trimmed(team, client_for):
    response = client_for(team["owner"]).post(
        invites_url(team["project"]), {"email": "  New.Person@Example.COM ", "role": "member"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["email"] == "new.person@example.com"
    assert Invite.objects.get().email == "new.person@example.com"


@pytest.mark.parametrize("payload", [{}, {"email": "not-an-email"}, {"email": "a@example.com", "role": "boss"}])
def test_invite_validates_its_body(team, client_for, payload):
    response = client_for(team["owner"]).post(invites_url(team["project"]), payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) & {"email", "role"}
    assert not Invite.objects.exists()


@pytest.mark.parametrize("who", ["member", "owner"])
def test_inviting_an_existing_member_conflicts(team, client_for, who):
    email = team[who].email.upper()

    response = client_for(team["admin"]).post(invites_url(team["project"]), {"email": email}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "already_member"
    assert not Invite.objects.exists()


def test_inviting_a_member_of_another_project_is_fine(team, client_for):
    response = client_for(team["owner"]).post(
        invites_url(team["project"]), {"email": team["outsider"].email}, format="json"
    )

    assert response.status_code == 201


def test_reinviting_replaces_the_pending_invite(team, client_for, invite_for):
    project = team["project"]
    first = invite_for(project, "new@example.com", Role.VIEWER)

    response = client_for(team["admin"]).post(
        invites_url(project), {"email": "NEW@example.com", "role": "member"}, format="json"
    )

    assert response.status_code == 201
    first.invite.refresh_from_db()
    assert first.invite.status == InviteStatus.REVOKED
    assert first.invite.responded_at is not None
    pending = Invite.objects.filter(project=project, email="new@example.com", status=InviteStatus.PENDING)
    assert [(i.pk, i.role) for i in pending] == [(response.json()["id"], "member")]


def test_reinviting_does_not_touch_invites_of_other_projects(team, client_for, invite_for):
    elsewhere = invite_for(team["other_project"], "new@example.com")

    client_for(team["owner"]).post(invites_url(team["project"]), {"email": "new@example.com"}, format="json")

    elsewhere.invite.refresh_from_db()
    assert elsewhere.invite.status == InviteStatus.PENDING


# --- project invite list -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admins_list_the_projects_invites(team, client_for, invite_for, role):
    project = team["project"]
    old = invite_for(project, "a@example.com")
    new = invite_for(project, "b@example.com", Role.VIEWER)
    client_for(team["owner"]).delete(f"{invites_url(project)}/{old.invite.pk}")
    invite_for(team["other_project"], "c@example.com")

    response = client_for(team[role]).get(invites_url(project))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(i["id"], i["status"]) for i in body["results"]] == [
        (new.invite.pk, "pending"),
        (old.invite.pk, "revoked"),
    ]
    assert set(body["results"][0]) == {"id", "email", "role", "status", "invited_by", "created_at", "expires_at"}


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_list_invites(team, client_for, invite_for, role):
    invite_for(team["project"], "a@example.com")

    response = client_for(team[role]).get(invites_url(team["project"]))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"


# --- revoke ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admins_revoke(team, client_for, invite_for, role):
    created = invite_for(team["project"], "a@example.com")
    invitee = UserFactory(email="a@example.com")

    response = client_for(team[role]).delete(f"{invites_url(team['project'])}/{created.invite.pk}")

    assert response.status_code == 204
    created.invite.refresh_from_db()
    assert created.invite.status == InviteStatus.REVOKED
    # and the invitee can use it no more
    assert client_for(invitee).get("/api/invites").json()["count"] == 0
    accept = client_for(invitee).post(f"/api/invites/{created.invite.pk}/accept")
    assert accept.status_code == 409
    assert accept.json()["code"] == "invite_not_pending"
    by_token = client_for(invitee).post("/api/invites/accept", {"token": created.token}, format="json")
    assert by_token.status_code == 409
    assert not Membership.objects.filter(user=invitee).exists()


def test_revoking_twice_conflicts(team, client_for, invite_for):
    created = invite_for(team["project"], "a@example.com")
    client = client_for(team["owner"])
    client.delete(f"{invites_url(team['project'])}/{created.invite.pk}")

    response = client.delete(f"{invites_url(team['project'])}/{created.invite.pk}/")

    assert response.status_code == 409
    assert response.json()["code"] == "invite_not_pending"


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_revoke(team, client_for, invite_for, role):
    created = invite_for(team["project"], "a@example.com")
    before = db_snapshot()

    response = client_for(team[role]).delete(f"{invites_url(team['project'])}/{created.invite.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_role"
    assert db_snapshot() == before


def test_revoking_an_invite_of_another_project_is_404(team, client_for, invite_for):
    elsewhere = invite_for(team["other_project"], "a@example.com")
    client = client_for(team["owner"])
    before = db_snapshot()

    real = client.delete(f"{invites_url(team['project'])}/{elsewhere.invite.pk}")
    missing = client.delete(f"{invites_url(team['project'])}/{MISSING_ID}")

    assert real.status_code == missing.status_code == 404
    assert real.json() == missing.json() == NOT_FOUND
    assert db_snapshot() == before


# --- my invites --------------------------------------------------------------------------------


def test_my_invites_are_my_pending_unexpired_ones(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    mine = invite_for(team["project"], "ME@example.com", Role.VIEWER, by=team["admin"])
    mine_too = invite_for(team["other_project"], "me@example.com")
    expire(invite_for(_project_owned_by(UserFactory()), "me@example.com").invite)
    declined = invite_for(_project_owned_by(UserFactory()), "me@example.com")
    Invite.objects.filter(pk=declined.invite.pk).update(status=InviteStatus.DECLINED)
    invite_for(team["project"], "someone.else@example.com")

    response = client_for(me).get("/api/invites")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [i["id"] for i in body["results"]] == [mine_too.invite.pk, mine.invite.pk]
    item = body["results"][1]
    assert set(item) == {"id", "project", "role", "invited_by", "created_at", "expires_at"}
    assert item["project"] == {"id": team["project"].pk, "name": team["project"].name_en}
    assert item["role"] == "viewer"
    assert item["invited_by"] == {"id": team["admin"].pk, "name": team["admin"].name}


def _project_owned_by(user):
    project = ProjectFactory()
    MembershipFactory(project=project, user=user, role=Role.OWNER)
    return project


def test_my_invites_name_the_project_in_my_language(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    project = team["project"]
    project.name_en, project.name_ru = "Garden", "Сад"
    project.save()
    invite_for(project, "me@example.com")

    item = client_for(me).get("/api/invites", HTTP_ACCEPT_LANGUAGE="ru").json()["results"][0]

    assert item["project"]["name"] == "Сад"


# --- accept and decline by id ------------------------------------------------------------------


def test_invitee_accepts(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com", Role.VIEWER)

    response = client_for(me).post(f"/api/invites/{created.invite.pk}/accept")

    assert response.status_code == 201
    body = response.json()
    assert body["project"] == {"id": team["project"].pk, "name": team["project"].name_en}
    assert body["role"] == "viewer"
    assert roles_of(team["project"])[me.pk] == "viewer"
    invite = Invite.objects.get(pk=created.invite.pk)
    assert invite.status == InviteStatus.ACCEPTED
    assert invite.accepted_by == me
    assert invite.responded_at is not None
    # and the project is mine now
    listed = client_for(me).get("/api/projects").json()["results"]
    assert [(p["id"], p["my_role"]) for p in listed] == [(team["project"].pk, "viewer")]
    assert client_for(me).get("/api/invites").json()["count"] == 0


def test_accepting_twice_conflicts(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com")
    client = client_for(me)
    client.post(f"/api/invites/{created.invite.pk}/accept")

    response = client.post(f"/api/invites/{created.invite.pk}/accept/")

    assert response.status_code == 409
    assert response.json()["code"] == "invite_not_pending"
    assert Membership.objects.filter(user=me).count() == 1


def test_accepting_an_expired_invite_is_refused(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com")
    expire(created.invite)

    response = client_for(me).post(f"/api/invites/{created.invite.pk}/accept")

    assert response.status_code == 400
    assert response.json()["code"] == "invite_expired"
    assert not Membership.objects.filter(user=me).exists()
    assert Invite.objects.get(pk=created.invite.pk).status == InviteStatus.PENDING


def test_invitee_declines(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com")
    client = client_for(me)

    response = client.post(f"/api/invites/{created.invite.pk}/decline")

    assert response.status_code == 204
    invite = Invite.objects.get(pk=created.invite.pk)
    assert invite.status == InviteStatus.DECLINED
    assert invite.responded_at is not None
    assert not Membership.objects.filter(user=me).exists()
    assert client.post(f"/api/invites/{created.invite.pk}/accept").json()["code"] == "invite_not_pending"
    assert client.post(f"/api/invites/{created.invite.pk}/decline").status_code == 409


def test_declining_an_expired_invite_is_refused(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com")
    expire(created.invite)

    response = client_for(me).post(f"/api/invites/{created.invite.pk}/decline")

    assert response.status_code == 400
    assert response.json()["code"] == "invite_expired"


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("who", ["owner", "admin", "outsider"])
def test_only_the_invitee_accepts_or_declines(team, client_for, invite_for, action, who):
    created = invite_for(team["project"], "me@example.com")
    client = client_for(team[who])
    before = db_snapshot()

    real = client.post(f"/api/invites/{created.invite.pk}/{action}")
    missing = client.post(f"/api/invites/{MISSING_ID}/{action}")

    assert real.status_code == missing.status_code == 404
    assert real.json() == missing.json() == NOT_FOUND
    assert db_snapshot() == before


def test_accepting_when_already_a_member_conflicts(team, client_for, invite_for):
    # given an invite to an address that became a member in the meantime
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com", Role.ADMIN)
    MembershipFactory(project=team["project"], user=me, role=Role.VIEWER)

    response = client_for(me).post(f"/api/invites/{created.invite.pk}/accept")

    assert response.status_code == 409
    assert response.json()["code"] == "already_member"
    assert roles_of(team["project"])[me.pk] == "viewer"


# --- accept by token ---------------------------------------------------------------------------


def test_accept_by_token(team, client_for, invite_for):
    me = UserFactory(email="me@example.com")
    created = invite_for(team["project"], "me@example.com", Role.ADMIN)

    response = client_for(me).post("/api/invites/accept", {"token": created.token}, format="json")

    assert response.status_code == 201
    assert response.json()["project"]["id"] == team["project"].pk
    assert response.json()["role"] == "admin"
    assert roles_of(team["project"])[me.pk] == "admin"
    invite = Invite.objects.get(pk=created.invite.pk)
    assert (invite.status, invite.accepted_by) == (InviteStatus.ACCEPTED, me)


def test_the_token_is_stored_only_as_its_sha256(team, invite_for):
    created = invite_for(team["project"], "me@example.com")

    row = Invite.objects.filter(pk=created.invite.pk).values().get()

    assert len(created.token) >= 32
    assert row["token_hash"] == hashlib.sha256(created.token.encode()).hexdigest()
    assert not any(created.token in str(value) for value in row.values())


def test_a_token_is_single_use(team, client_for, invite_for):
    created = invite_for(team["project"], "me@example.com")
    first, second = UserFactory(email="me@example.com"), UserFactory()
    client_for(first).post("/api/invites/accept", {"token": created.token}, format="json")

    response = client_for(second).post("/api/invites/accept/", {"token": created.token}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invite_not_pending"
    assert second.pk not in roles_of(team["project"])


def test_unknown_token_is_404(team, client_for, invite_for):
    created = invite_for(team["project"], "me@example.com")
    before = db_snapshot()

    response = client_for(UserFactory()).post("/api/invites/accept", {"token": created.token + "x"}, format="json")

    assert response.status_code == 404
    assert set(response.json()) == {"detail", "code"}
    assert db_snapshot() == before


def test_a_token_hash_is_not_a_token(team, client_for, invite_for):
    created = invite_for(team["project"], "me@example.com")

    response = client_for(UserFactory()).post(
        "/api/invites/accept", {"token": created.invite.token_hash}, format="json"
    )

    assert response.status_code == 404


def test_replaced_invites_token_no_longer_works(team, client_for, invite_for):
    old = invite_for(team["project"], "me@example.com")
    invite_for(team["project"], "me@example.com")
    me = UserFactory(email="me@example.com")

    response = client_for(me).post("/api/invites/accept", {"token": old.token}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invite_not_pending"
    assert not Membership.objects.filter(user=me).exists()


def test_expired_token_is_refused(team, client_for, invite_for):
    created = invite_for(team["project"], "me@example.com")
    expire(created.invite)

    response = client_for(UserFactory()).post("/api/invites/accept", {"token": created.token}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invite_expired"


@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": "x" * 129}])
def test_accept_by_token_validates_its_body(client_for, payload):
    response = client_for(UserFactory()).post("/api/invites/accept", payload, format="json")

    assert response.status_code == 400
    assert "token" in response.json()


def test_an_admin_revokes_an_expired_invite_and_sees_it_as_expired_before(team, client_for, invite_for):
    # given an invite past its expiry
    created = invite_for(team["project"], "late@example.com")
    Invite.objects.filter(pk=created.invite.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    admin = client_for(team["admin"])

    listed = admin.get(f"/api/projects/{team['project'].pk}/invites").json()["results"]
    revoked = admin.delete(f"/api/projects/{team['project'].pk}/invites/{created.invite.pk}")

    assert [i["status"] for i in listed if i["id"] == created.invite.pk] == ["expired"]
    assert revoked.status_code == 204
    assert Invite.objects.get(pk=created.invite.pk).status == "revoked"


def test_an_invitee_whose_stored_email_has_capitals_still_sees_the_invite(team, client_for, invite_for):
    # given a user whose email was stored with capitals (e.g. typed into the admin)
    person = UserFactory(email="Mixed.Case@Example.com")
    created = invite_for(team["project"], "mixed.case@example.com")

    mine = client_for(person).get("/api/invites").json()["results"]

    assert [i["id"] for i in mine] == [created.invite.pk]
