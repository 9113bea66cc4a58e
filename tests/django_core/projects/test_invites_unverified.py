"""Invites and unverified addresses: until an account has verified its email, matching the
address proves nothing, so invites addressed to it are neither listed nor answered by id. The
emailed token proves the address: accepting with it works and verifies the address."""

import pytest

from projects.models import Invite, InviteStatus, Membership, Role
from tests.django_core.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def squatter(db):
    """Someone who registered an invited address and never opened its mail."""
    return UserFactory(email="invited@example.com", email_verified_at=None)


def test_an_unverified_account_lists_no_invites(team, client_for, invite_for, squatter):
    invite_for(team["project"], "invited@example.com", role=Role.ADMIN)

    response = client_for(squatter).get("/api/invites")

    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["results"] == []


@pytest.mark.parametrize("verb", ["accept", "decline"])
def test_an_unverified_account_cannot_answer_an_invite_by_id(team, client_for, invite_for, squatter, verb):
    created = invite_for(team["project"], "invited@example.com", role=Role.ADMIN)

    response = client_for(squatter).post(f"/api/invites/{created.invite.pk}/{verb}")

    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert "Verify your email address" in response.json()["detail"]
    assert Invite.objects.get(pk=created.invite.pk).status == InviteStatus.PENDING
    assert not Membership.objects.filter(user=squatter).exists()


def test_accepting_by_the_emailed_token_works_and_verifies_the_address(team, client_for, invite_for, squatter):
    created = invite_for(team["project"], "invited@example.com", role=Role.MEMBER)

    response = client_for(squatter).post("/api/invites/accept", {"token": created.token}, format="json")

    assert response.status_code == 201, response.content
    assert Membership.objects.filter(project=team["project"], user=squatter, role=Role.MEMBER).exists()
    squatter.refresh_from_db()
    assert squatter.email_verified_at is not None


def test_a_token_accepted_by_another_address_verifies_nothing(team, client_for, invite_for):
    # given an invitation forwarded to a colleague whose own address is unverified
    colleague = UserFactory(email="colleague@example.com", email_verified_at=None)
    created = invite_for(team["project"], "invited@example.com")

    response = client_for(colleague).post("/api/invites/accept", {"token": created.token}, format="json")

    assert response.status_code == 201
    colleague.refresh_from_db()
    assert colleague.email_verified_at is None


def test_once_verified_the_invites_are_listed_and_accepted_by_id(team, client_for, invite_for):
    invitee = UserFactory(email="invited@example.com")
    created = invite_for(team["project"], "invited@example.com")
    client = client_for(invitee)

    assert [row["id"] for row in client.get("/api/invites").json()["results"]] == [created.invite.pk]
    assert client.post(f"/api/invites/{created.invite.pk}/accept").status_code == 201
