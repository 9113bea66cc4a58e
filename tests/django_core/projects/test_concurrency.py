"""Races between real requests: each thread has its own database connection and transaction."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_pair_for
from projects import services
from projects.models import Invite, InviteStatus, Membership, Role
from tests.django_core.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def race(*requests: Callable[[APIClient], Any], tokens: list[str]) -> list[Any]:
    """Runs each request in its own thread, all released at once; returns the responses in order."""
    barrier = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[index]}")
            barrier.wait(timeout=10)
            responses[index] = requests[index](client)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    if errors:
        raise errors[0]
    return responses


@pytest.fixture
def project_with_owner():
    project = ProjectFactory()
    owner = UserFactory()
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    return project, owner


@pytest.mark.parametrize("same_user", [True, False], ids=["same-user", "two-users"])
def test_two_concurrent_accepts_of_one_token_make_one_membership(project_with_owner, same_user):
    # given one invite whose token two requests present at the same moment
    project, owner = project_with_owner
    created = services.invite_create(project=project, actor=owner, email="new@example.com", role=Role.MEMBER)
    first = UserFactory(email="new@example.com")
    second = first if same_user else UserFactory()
    tokens = [token_pair_for(first).access, token_pair_for(second).access]

    def accept(client: APIClient) -> Any:
        return client.post("/api/invites/accept", {"token": created.token}, format="json")

    responses = race(accept, accept, tokens=tokens)

    # then exactly one of them joined
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409], [r.json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] in {"invite_not_pending", "already_member"}
    joined = Membership.objects.filter(project=project).exclude(user=owner)
    assert joined.count() == 1
    invite = Invite.objects.get(pk=created.invite.pk)
    assert invite.status == InviteStatus.ACCEPTED
    assert invite.accepted_by_id == joined.get().user_id


def test_concurrent_accept_by_id_and_by_token_make_one_membership(project_with_owner):
    project, owner = project_with_owner
    created = services.invite_create(project=project, actor=owner, email="new@example.com", role=Role.VIEWER)
    invitee = UserFactory(email="new@example.com")
    token = token_pair_for(invitee).access

    responses = race(
        lambda c: c.post(f"/api/invites/{created.invite.pk}/accept"),
        lambda c: c.post("/api/invites/accept", {"token": created.token}, format="json"),
        tokens=[token, token],
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert list(Membership.objects.filter(project=project, user=invitee).values_list("role", flat=True)) == ["viewer"]


def test_concurrent_accept_and_decline_agree(project_with_owner):
    project, owner = project_with_owner
    created = services.invite_create(project=project, actor=owner, email="new@example.com", role=Role.MEMBER)
    invitee = UserFactory(email="new@example.com")
    token = token_pair_for(invitee).access

    accepted, declined = race(
        lambda c: c.post(f"/api/invites/{created.invite.pk}/accept"),
        lambda c: c.post(f"/api/invites/{created.invite.pk}/decline"),
        tokens=[token, token],
    )

    # exactly one wins, and the invite's status says which
    assert sorted([accepted.status_code, declined.status_code]) in ([201, 409], [204, 409])
    status = Invite.objects.get(pk=created.invite.pk).status
    is_member = Membership.objects.filter(project=project, user=invitee).exists()
    if accepted.status_code == 201:
        assert (status, is_member) == (InviteStatus.ACCEPTED, True)
    else:
        assert (status, is_member) == (InviteStatus.DECLINED, False)


def test_concurrent_invites_of_one_address_leave_one_pending_invite(project_with_owner):
    # given two admins inviting the same new address at the same moment, a few times over
    project, owner = project_with_owner
    admin = UserFactory()
    MembershipFactory(project=project, user=admin, role=Role.ADMIN)
    tokens = [token_pair_for(owner).access, token_pair_for(admin).access]

    for attempt in range(5):
        email = f"new{attempt}@example.com"

        def invite(client: APIClient, email: str = email) -> Any:
            return client.post(f"/api/projects/{project.pk}/invites", {"email": email}, format="json")

        responses = race(invite, invite, tokens=tokens)

        # then neither fails with a server error and exactly one invite stays pending
        assert all(r.status_code in (201, 409) for r in responses), [r.status_code for r in responses]
        assert Invite.objects.filter(project=project, email=email, status=InviteStatus.PENDING).count() == 1


def test_concurrent_ownership_transfers_leave_exactly_one_owner(project_with_owner):
    # given an owner who hands the project to two different people at the same moment, a few times
    project, _ = project_with_owner
    for _ in range(5):
        current = Membership.objects.get(project=project, role=Role.OWNER).user
        first, second = UserFactory(), UserFactory()
        for user in (first, second):
            MembershipFactory(project=project, user=user, role=Role.ADMIN)
        token = token_pair_for(current).access

        def transfer(client: APIClient, user_id: int) -> Any:
            return client.patch(f"/api/projects/{project.pk}/members/{user_id}", {"role": "owner"}, format="json")

        responses = race(
            lambda c, user_id=first.pk: transfer(c, user_id),
            lambda c, user_id=second.pk: transfer(c, user_id),
            tokens=[token, token],
        )

        # then one transfer wins, the other is refused (the actor is no longer the owner), none fails
        assert sorted(r.status_code for r in responses) == [200, 403], [r.status_code for r in responses]
        owners = list(Membership.objects.filter(project=project, role=Role.OWNER).values_list("user_id", flat=True))
        winner = first if responses[0].status_code == 200 else second
        assert owners == [winner.pk]
        assert Membership.objects.get(project=project, user=current).role == Role.ADMIN


def test_transfer_to_a_member_who_is_leaving_never_leaves_the_project_without_an_owner(project_with_owner):
    project, owner = project_with_owner
    owner_token = token_pair_for(owner).access
    for _ in range(5):
        # given the owner hands the project to an admin at the moment that admin leaves
        Membership.objects.filter(project=project).exclude(user=owner).delete()
        Membership.objects.filter(project=project, user=owner).update(role=Role.OWNER)
        heir = UserFactory()
        MembershipFactory(project=project, user=heir, role=Role.ADMIN)
        url = f"/api/projects/{project.pk}/members/{heir.pk}"

        transfer, leave = race(
            lambda c, url=url: c.patch(url, {"role": "owner"}, format="json"),
            lambda c, url=url: c.delete(url),
            tokens=[owner_token, token_pair_for(heir).access],
        )

        # then one of them wins cleanly and the project keeps exactly one owner
        outcome = (transfer.status_code, leave.status_code)
        assert outcome in {(200, 409), (404, 204)}, outcome
        owners = list(Membership.objects.filter(project=project, role=Role.OWNER).values_list("user_id", flat=True))
        assert owners == ([heir.pk] if transfer.status_code == 200 else [owner.pk])
