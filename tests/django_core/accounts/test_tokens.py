"""Access tokens: what they claim and which ones the API refuses."""

import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_pair_for
from tests.django_core.accounts.paths import ME_URL


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _resign(token: str, key=None, algorithm: str = "EdDSA", **changes) -> str:
    """The token's own claims, changed as asked, signed with `key` (the real key by default)."""
    return jwt.encode({**_claims(token), **changes}, key or settings.JWT_PRIVATE_KEY, algorithm=algorithm)


def _assert_401_json(response) -> dict:
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    return body


@pytest.mark.django_db
def test_access_token_is_eddsa_signed(user):
    access = token_pair_for(user).access

    assert jwt.get_unverified_header(access)["alg"] == "EdDSA"


@pytest.mark.django_db
def test_access_token_verifies_with_the_public_key_for_audience_api_and_issuer_taskflow(user):
    access = token_pair_for(user).access

    claims = jwt.decode(access, settings.JWT_PUBLIC_KEY, algorithms=["EdDSA"], audience="api", issuer="taskflow")

    assert claims["aud"] == "api"
    assert claims["iss"] == "taskflow"
    assert claims["token_type"] == "access"
    assert claims["user_id"] in (user.id, str(user.id))


@pytest.mark.django_db
def test_access_token_lives_at_most_15_minutes(user):
    claims = _claims(token_pair_for(user).access)

    lifetime = claims["exp"] - claims["iat"]

    assert 0 < lifetime <= 15 * 60
    assert claims["exp"] > time.time()


@pytest.mark.django_db
def test_access_token_carries_no_password_material_beyond_a_digest(user):
    claims = _claims(token_pair_for(user).access)

    assert user.password not in str(claims)
    assert "hash_password" in claims


@pytest.mark.django_db
def test_valid_access_token_is_accepted(bearer, user):
    response = bearer(token_pair_for(user).access).get(ME_URL)

    assert response.status_code == 200
    assert response.json()["id"] == user.id


@pytest.mark.django_db
def test_token_signed_with_another_ed25519_key_is_401(bearer, user):
    # given the real token's claims signed by a key the server does not know
    forged = _resign(token_pair_for(user).access, key=Ed25519PrivateKey.generate())

    response = bearer(forged).get(ME_URL)

    body = _assert_401_json(response)
    assert body["code"] == "token_not_valid"


@pytest.mark.django_db
def test_resigning_with_the_real_key_is_accepted_so_the_forgery_test_means_something(bearer, user):
    resigned = _resign(token_pair_for(user).access)

    assert bearer(resigned).get(ME_URL).status_code == 200


@pytest.mark.django_db
def test_token_for_the_websocket_audience_is_401(bearer, user):
    ws_token = _resign(token_pair_for(user).access, aud="ws")

    body = _assert_401_json(bearer(ws_token).get(ME_URL))

    assert body["code"] == "token_not_valid"


@pytest.mark.django_db
def test_token_from_another_issuer_is_401(bearer, user):
    foreign = _resign(token_pair_for(user).access, iss="someone-else")

    _assert_401_json(bearer(foreign).get(ME_URL))


@pytest.mark.django_db
def test_unsigned_token_is_401(bearer, user):
    unsigned = jwt.encode(_claims(token_pair_for(user).access), key=None, algorithm="none")

    body = _assert_401_json(bearer(unsigned).get(ME_URL))

    assert body["code"] == "token_not_valid"


@pytest.mark.django_db
def test_expired_access_token_is_401(bearer, user):
    now = int(time.time())
    expired = _resign(token_pair_for(user).access, iat=now - 3600, exp=now - 60)

    body = _assert_401_json(bearer(expired).get(ME_URL))

    assert body["code"] == "token_not_valid"


@pytest.mark.django_db
def test_refresh_token_is_not_accepted_as_an_access_token(bearer, user):
    body = _assert_401_json(bearer(token_pair_for(user).refresh).get(ME_URL))

    assert body["code"] == "token_not_valid"


@pytest.mark.django_db
def test_access_token_of_a_deactivated_user_is_401(bearer, user):
    access = token_pair_for(user).access
    User.objects.filter(pk=user.pk).update(is_active=False)

    _assert_401_json(bearer(access).get(ME_URL))


@pytest.mark.django_db
def test_access_token_of_a_deleted_user_is_401(bearer, user):
    access = token_pair_for(user).access
    user.delete()

    _assert_401_json(bearer(access).get(ME_URL))


@pytest.mark.django_db
def test_access_token_for_another_user_id_with_a_stale_password_digest_is_401(bearer, user, other_user):
    # a token re-pointed at another user carries the wrong password digest for that user
    tampered = _resign(token_pair_for(user).access, user_id=str(other_user.id))

    _assert_401_json(bearer(tampered).get(ME_URL))


@pytest.mark.django_db
def test_missing_authorization_is_401_not_authenticated(api_client):
    body = _assert_401_json(api_client.get(ME_URL))

    assert body["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer garbage", id="garbage-token"),
        pytest.param("Bearer eyJhbGciOiJFZERTQSJ9.e30.AAAA", id="bad-signature-shape"),
        pytest.param("Bearer a b", id="two-parts"),
        pytest.param("Bearer", id="no-token"),
    ],
)
def test_garbage_authorization_is_401_json_with_a_code(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    _assert_401_json(client.get(ME_URL))


@pytest.mark.django_db
def test_non_bearer_authorization_is_401_not_authenticated(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")

    body = _assert_401_json(client.get(ME_URL))

    assert body["code"] == "not_authenticated"


def test_configured_access_lifetime_is_at_most_15_minutes():
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
