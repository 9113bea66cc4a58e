import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient


@pytest.fixture
def ticket_of(user, client_for):
    def issue() -> dict:
        response = client_for(user).post("/api/realtime/ticket")
        assert response.status_code == 201
        return response.json()

    return issue


def test_ticket_is_an_eddsa_jwt_for_the_ws_audience_valid_at_most_a_minute(user, ticket_of):
    body = ticket_of()

    claims = jwt.decode(body["ticket"], settings.JWT_PUBLIC_KEY, algorithms=["EdDSA"], audience="ws", issuer="taskflow")
    assert set(body) == {"ticket", "expires_in"}
    assert 0 < body["expires_in"] <= 60
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["user_id"] == user.pk
    assert claims["sub"] == str(user.pk)
    assert claims["token_type"] == "ws_ticket"
    assert jwt.get_unverified_header(body["ticket"])["alg"] == "EdDSA"


def test_every_ticket_has_its_own_id(ticket_of):
    ids = {jwt.decode(ticket_of()["ticket"], options={"verify_signature": False})["jti"] for _ in range(3)}

    assert len(ids) == 3


def test_ticket_needs_a_signed_in_user(db):
    response = APIClient().post("/api/realtime/ticket/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_ticket_is_not_an_api_access_token(ticket_of):
    # The audiences differ (ws vs api): a leaked ticket cannot call the API.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ticket_of()['ticket']}")

    response = client.get("/api/users/me")

    assert response.status_code == 401


def test_an_access_token_is_not_a_ticket(user):
    from accounts.services import token_pair_for

    access = token_pair_for(user).access

    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(access, settings.JWT_PUBLIC_KEY, algorithms=["EdDSA"], audience="ws")
