import pytest

from accounts.services import token_pair_for
from tests.django_core.accounts.paths import LOGOUT_URL, REFRESH_URL


@pytest.mark.django_db
def test_logout_is_204_and_the_refresh_token_no_longer_works(post_json, user):
    pair = token_pair_for(user)

    response = post_json(LOGOUT_URL, {"refresh": pair.refresh})

    assert response.status_code == 204
    assert response.content == b""
    after = post_json(REFRESH_URL, {"refresh": pair.refresh})
    assert after.status_code == 401
    assert after.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_logout_accepts_a_trailing_slash(post_json, user):
    response = post_json(f"{LOGOUT_URL}/", {"refresh": token_pair_for(user).refresh})

    assert response.status_code == 204


@pytest.mark.django_db
def test_logout_ends_only_that_session(post_json, user):
    leaving = token_pair_for(user)
    staying = token_pair_for(user)

    post_json(LOGOUT_URL, {"refresh": leaving.refresh})

    assert post_json(REFRESH_URL, {"refresh": staying.refresh}).status_code == 200


@pytest.mark.django_db
def test_logout_twice_with_the_same_token_is_idempotent(post_json, user):
    # a client retrying a logout whose answer it lost must not get an error
    token = token_pair_for(user).refresh
    assert post_json(LOGOUT_URL, {"refresh": token}).status_code == 204

    response = post_json(LOGOUT_URL, {"refresh": token})

    assert response.status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("garbage", ["garbage", "a.b.c"])
def test_logout_with_garbage_is_401_token_not_valid(post_json, garbage):
    response = post_json(LOGOUT_URL, {"refresh": garbage})

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "token_not_valid"
    assert isinstance(body["detail"], str)


@pytest.mark.django_db
def test_logout_with_an_access_token_is_401(post_json, user):
    response = post_json(LOGOUT_URL, {"refresh": token_pair_for(user).access})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_logout_without_a_token_is_400_field_error(post_json):
    response = post_json(LOGOUT_URL, {})

    assert response.status_code == 400
    assert list(response.json()) == ["refresh"]
