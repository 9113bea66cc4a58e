"""Refresh tokens: rotation, blacklisting and theft detection."""

import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import User
from accounts.services import token_pair_for, user_deactivate
from common.redis import redis_client
from tests.django_core.accounts.paths import ME_URL, REFRESH_URL


def _assert_token_not_valid(response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "token_not_valid"
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "access" not in body


@pytest.fixture
def refresh(post_json):
    def send(token: str):
        return post_json(REFRESH_URL, {"refresh": token})

    return send


@pytest.mark.django_db
def test_refresh_returns_a_new_pair_that_works(refresh, bearer, user):
    pair = token_pair_for(user)

    response = refresh(pair.refresh)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair.refresh
    assert body["access"] != pair.access
    assert bearer(body["access"]).get(ME_URL).json()["id"] == user.id
    assert refresh(body["refresh"]).status_code == 200


@pytest.mark.django_db
def test_refresh_accepts_a_trailing_slash(post_json, user):
    response = post_json(f"{REFRESH_URL}/", {"refresh": token_pair_for(user).refresh})

    assert response.status_code == 200


def _end_reuse_grace() -> None:
    """What REFRESH_REUSE_GRACE seconds passing does: every remembered rotation is gone."""
    client = redis_client()
    for key in client.keys("refresh-grace:*"):
        client.delete(key)


@pytest.mark.django_db
def test_used_refresh_token_is_rejected(refresh, user):
    # given a refresh token that was rotated once, longer ago than the grace window
    used = token_pair_for(user).refresh
    assert refresh(used).status_code == 200
    _end_reuse_grace()

    # when it is presented again
    response = refresh(used)

    _assert_token_not_valid(response)


@pytest.mark.django_db
def test_rotation_blacklists_the_presented_token(refresh, user):
    used = token_pair_for(user).refresh

    refresh(used)

    assert BlacklistedToken.objects.filter(token__token=used).exists()


@pytest.mark.django_db
def test_reusing_a_refresh_token_revokes_every_token_of_that_user(refresh, user, other_user):
    # given two sessions of one user and one session of someone else
    first = token_pair_for(user)
    second = token_pair_for(user)
    bystander = token_pair_for(other_user)
    rotated = refresh(first.refresh).json()
    _end_reuse_grace()

    # when the already-used token comes back (theft), after the grace window
    reuse = refresh(first.refresh)

    # then every outstanding refresh token of that user is dead, and only of that user
    _assert_token_not_valid(reuse)
    _assert_token_not_valid(refresh(second.refresh))
    _assert_token_not_valid(refresh(rotated["refresh"]))
    assert refresh(bystander.refresh).status_code == 200


@pytest.mark.django_db
def test_refresh_for_a_deactivated_user_is_401(refresh, user):
    # deactivated behind the service's back, so only the refresh check itself can stop it
    token = token_pair_for(user).refresh
    User.objects.filter(pk=user.pk).update(is_active=False)

    _assert_token_not_valid(refresh(token))


@pytest.mark.django_db
def test_refresh_after_user_deactivate_is_401(refresh, user):
    token = token_pair_for(user).refresh
    user_deactivate(user=user)

    _assert_token_not_valid(refresh(token))


@pytest.mark.django_db
def test_refresh_for_a_deleted_user_is_401(refresh, user):
    token = token_pair_for(user).refresh
    user.delete()

    _assert_token_not_valid(refresh(token))


@pytest.mark.django_db
def test_refresh_after_the_password_changed_elsewhere_is_401(refresh, user):
    # the password set directly (e.g. by an admin), without revoking tokens
    token = token_pair_for(user).refresh
    user.set_password("a brand new secret 77")
    user.save(update_fields=["password"])

    _assert_token_not_valid(refresh(token))


@pytest.mark.django_db
@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"])
def test_refresh_with_garbage_is_401_token_not_valid(refresh, garbage):
    _assert_token_not_valid(refresh(garbage))


@pytest.mark.django_db
def test_access_token_is_not_accepted_as_a_refresh_token(refresh, user):
    _assert_token_not_valid(refresh(token_pair_for(user).access))


@pytest.mark.django_db
def test_refresh_without_a_token_is_400_field_error(post_json):
    response = post_json(REFRESH_URL, {})

    assert response.status_code == 400
    assert list(response.json()) == ["refresh"]


@pytest.mark.django_db
def test_a_token_presented_again_within_the_grace_window_gets_the_same_pair(refresh, bearer, user, settings):
    # given two tabs holding the same refresh token
    shared = token_pair_for(user).refresh
    other_session = token_pair_for(user)

    # when both refresh it, one just after the other
    first = refresh(shared)
    second = refresh(shared)

    # then both get the same working pair, and no session was revoked
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert bearer(second.json()["access"]).get(ME_URL).status_code == 200
    assert refresh(second.json()["refresh"]).status_code == 200
    assert refresh(other_session.refresh).status_code == 200
    ttl = redis_client().ttl(f"refresh-grace:{_jti(shared)}")
    assert 0 < ttl <= settings.REFRESH_REUSE_GRACE


@pytest.mark.django_db(transaction=True)
def test_two_tabs_refreshing_at_once_are_not_treated_as_theft(user, settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections
    from rest_framework.test import APIClient

    shared = token_pair_for(user).refresh

    def send(_: int):
        try:
            return APIClient().post(REFRESH_URL, {"refresh": shared}, format="json")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(send, range(2)))

    assert [response.status_code for response in responses] == [200, 200]
    assert responses[0].json() == responses[1].json()


@pytest.mark.django_db
def test_a_reuse_after_a_password_change_is_refused_even_within_the_grace_window(refresh, user):
    shared = token_pair_for(user).refresh
    assert refresh(shared).status_code == 200
    user.set_password("a brand new passphrase")
    user.save()

    _assert_token_not_valid(refresh(shared))


def _jti(raw: str) -> str:
    from rest_framework_simplejwt.tokens import UntypedToken

    return str(UntypedToken(raw)["jti"])  # type: ignore[arg-type]
