"""The services directly, as the admin, Celery and the bot's internal API call them."""

import hashlib
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from common.errors import BadRequest, Conflict
from projects import selectors, services
from projects.models import ROLE_RANK, Invite, InviteStatus, Membership, Project, Role, role_at_least
from tests.django_core.factories import MembershipFactory, UserFactory
from tests.django_core.projects.helpers import roles_of

pytestmark = pytest.mark.django_db


# --- roles -------------------------------------------------------------------------------------


def test_roles_rank_owner_admin_member_viewer():
    assert ROLE_RANK[Role.OWNER] > ROLE_RANK[Role.ADMIN] > ROLE_RANK[Role.MEMBER] > ROLE_RANK[Role.VIEWER]


@pytest.mark.parametrize(
    ("role", "minimum", "expected"),
    [
        ("owner", Role.ADMIN, True),
        ("admin", Role.ADMIN, True),
        ("member", Role.ADMIN, False),
        ("viewer", Role.MEMBER, False),
        ("viewer", Role.VIEWER, True),
        (None, Role.VIEWER, False),
    ],
)
def test_role_at_least(role, minimum, expected):
    assert role_at_least(role, minimum) is expected


def test_require_role_returns_the_role(team):
    assert services.project_require_role(project=team["project"], user=team["admin"], minimum=Role.MEMBER) == "admin"


def test_require_role_hides_the_project_from_outsiders(team):
    with pytest.raises(exceptions.NotFound):
        services.project_require_role(project=team["project"], user=team["outsider"], minimum=Role.VIEWER)


def test_require_role_refuses_lower_roles(team):
    with pytest.raises(exceptions.PermissionDenied) as caught:
        services.project_require_role(project=team["project"], user=team["member"], minimum=Role.ADMIN)

    assert caught.value.get_codes() == "insufficient_role"


# --- projects ----------------------------------------------------------------------------------


def test_project_create_makes_the_actor_owner():
    actor = UserFactory()

    project = services.project_create(actor=actor, name="Garden", translations={"name_ru": "Сад"})

    assert project.my_role == Role.OWNER
    project.refresh_from_db()
    assert (project.name_en, project.name_ru, project.created_by) == ("Garden", "Сад", actor)
    assert roles_of(project) == {actor.pk: "owner"}


def test_project_update_refuses_members(team):
    with pytest.raises(exceptions.PermissionDenied):
        services.project_update(project=team["project"], actor=team["member"], fields={"name": "x"})


def test_project_delete_refuses_admins(team):
    with pytest.raises(exceptions.PermissionDenied):
        services.project_delete(project=team["project"], actor=team["admin"])
    assert Project.objects.filter(pk=team["project"].pk).exists()


def test_project_get_for_user_hides_other_projects(team):
    with pytest.raises(exceptions.NotFound):
        selectors.project_get_for_user(project_id=team["project"].pk, user=team["outsider"])

    assert selectors.project_get_for_user(project_id=team["project"].pk, user=team["viewer"]).my_role == "viewer"


# --- memberships -------------------------------------------------------------------------------


def test_transfer_leaves_exactly_one_owner(team):
    project = team["project"]
    member = Membership.objects.get(project=project, user=team["viewer"])

    services.membership_change_role(project=project, actor=team["owner"], member=member, role=Role.OWNER)

    roles = roles_of(project)
    assert [user for user, role in roles.items() if role == "owner"] == [team["viewer"].pk]
    assert roles[team["owner"].pk] == "admin"


def test_the_database_allows_one_owner_per_project(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(project=team["project"], user=UserFactory(), role=Role.OWNER)


def test_the_database_allows_one_membership_per_user(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(project=team["project"], user=team["member"], role=Role.VIEWER)


def test_admin_cannot_grant_owner(team):
    member = Membership.objects.get(project=team["project"], user=team["member"])

    with pytest.raises(exceptions.PermissionDenied):
        services.membership_change_role(project=team["project"], actor=team["admin"], member=member, role=Role.OWNER)

    assert roles_of(team["project"])[team["member"].pk] == "member"


def test_owner_cannot_leave(team):
    owner = Membership.objects.get(project=team["project"], user=team["owner"])

    with pytest.raises(Conflict) as caught:
        services.membership_remove(project=team["project"], actor=team["owner"], member=owner)

    assert caught.value.get_codes() == "owner_cannot_leave"


def test_nobody_removes_the_owner(team):
    owner = Membership.objects.get(project=team["project"], user=team["owner"])

    with pytest.raises(exceptions.PermissionDenied):
        services.membership_remove(project=team["project"], actor=team["admin"], member=owner)

    assert roles_of(team["project"])[team["owner"].pk] == "owner"


# --- invites -----------------------------------------------------------------------------------


def test_invite_create_stores_only_the_tokens_hash(team):
    created = services.invite_create(
        project=team["project"], actor=team["admin"], email="A@Example.com", role=Role.VIEWER
    )

    row = Invite.objects.filter(pk=created.invite.pk).values().get()
    assert row["token_hash"] == hashlib.sha256(created.token.encode()).hexdigest()
    assert all(created.token not in str(value) for value in row.values())
    assert row["email"] == "a@example.com"
    assert (row["role"], row["status"], row["invited_by_id"]) == ("viewer", "pending", team["admin"].pk)
    assert abs(row["expires_at"] - (timezone.now() + settings.INVITE_TTL)) < timedelta(minutes=1)


def test_every_invite_gets_a_fresh_token(team):
    tokens = {
        services.invite_create(
            project=team["project"], actor=team["owner"], email=f"{i}@example.com", role=Role.MEMBER
        ).token
        for i in range(5)
    }

    assert len(tokens) == 5


@pytest.mark.parametrize(("actor", "role"), [("owner", Role.OWNER), ("admin", Role.OWNER)])
def test_invite_create_never_grants_owner(team, actor, role):
    with pytest.raises(exceptions.ValidationError):
        services.invite_create(project=team["project"], actor=team[actor], email="a@example.com", role=role)

    assert not Invite.objects.exists()


@pytest.mark.parametrize(
    ("actor", "error"), [("member", exceptions.PermissionDenied), ("outsider", exceptions.NotFound)]
)
def test_invite_create_needs_an_admin(team, actor, error):
    with pytest.raises(error):
        services.invite_create(project=team["project"], actor=team[actor], email="a@example.com", role=Role.VIEWER)


def test_reinvite_revokes_the_pending_invite(team):
    first = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.MEMBER
    )

    second = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.ADMIN
    )

    statuses = dict(Invite.objects.values_list("pk", "status"))
    assert statuses == {first.invite.pk: "revoked", second.invite.pk: "pending"}


def test_the_database_allows_one_pending_invite_per_address(team):
    services.invite_create(project=team["project"], actor=team["owner"], email="a@example.com", role=Role.MEMBER)

    with pytest.raises(IntegrityError), transaction.atomic():
        Invite.objects.create(
            project=team["project"], email="a@example.com", token_hash="0" * 64, expires_at=timezone.now()
        )


def test_accept_by_unknown_token_is_not_found(team):
    with pytest.raises(exceptions.NotFound):
        services.invite_accept_by_token(token="nope", user=team["outsider"])


def test_accept_when_already_a_member_keeps_the_invite_pending(team):
    created = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.ADMIN
    )
    user = UserFactory(email="a@example.com")
    MembershipFactory(project=team["project"], user=user, role=Role.VIEWER)

    with pytest.raises(Conflict) as caught:
        services.invite_accept(invite=created.invite, user=user)

    assert caught.value.get_codes() == "already_member"
    assert Invite.objects.get(pk=created.invite.pk).status == InviteStatus.PENDING
    assert roles_of(team["project"])[user.pk] == "viewer"


def test_accept_expired_invite_is_refused(team):
    created = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.MEMBER
    )
    Invite.objects.filter(pk=created.invite.pk).update(expires_at=timezone.now())

    with pytest.raises(BadRequest) as caught:
        services.invite_accept_by_token(token=created.token, user=UserFactory())

    assert caught.value.get_codes() == "invite_expired"
    assert Invite.objects.get(pk=created.invite.pk).is_expired()


def test_revoke_needs_an_admin(team):
    created = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.MEMBER
    )

    with pytest.raises(exceptions.PermissionDenied):
        services.invite_revoke(invite=created.invite, actor=team["member"])
    with pytest.raises(exceptions.NotFound):
        services.invite_revoke(invite=created.invite, actor=team["outsider"])

    assert Invite.objects.get(pk=created.invite.pk).status == InviteStatus.PENDING


def test_pending_invites_for_user_skip_expired_and_answered(team):
    me = UserFactory(email="me@example.com")
    pending = services.invite_create(
        project=team["project"], actor=team["owner"], email="me@example.com", role=Role.MEMBER
    )
    expired = services.invite_create(
        project=team["other_project"], actor=team["outsider"], email="me@example.com", role=Role.MEMBER
    )
    Invite.objects.filter(pk=expired.invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert list(selectors.invite_list_pending_for_user(user=me)) == [pending.invite]
    services.invite_decline(invite=pending.invite, user=me)
    assert list(selectors.invite_list_pending_for_user(user=me)) == []


def test_models_describe_themselves(team):
    created = services.invite_create(
        project=team["project"], actor=team["owner"], email="a@example.com", role=Role.MEMBER
    )
    membership = Membership.objects.get(project=team["project"], user=team["viewer"])

    assert str(team["project"]) == team["project"].name_en
    assert "Viewer" in str(membership)
    assert str(created.invite).startswith("a@example.com")
    assert "Pending" in str(created.invite)
