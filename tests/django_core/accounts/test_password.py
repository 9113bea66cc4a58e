import pytest

from accounts.services import token_pair_for
from tests.django_core.accounts.paths import ME_URL, PASSWORD_URL, REFRESH_URL
from tests.django_core.factories import DEFAULT_PASSWORD

NEW_PASSWORD = "violet quarry engine 19"


@pytest.fixture
def session(user):
    """The token pair of the session that changes the password."""
    return token_pair_for(user)


@pytest.fixture
def change_password(bearer, session):
    def send(current_password: str = DEFAULT_PASSWORD, new_password: str = NEW_PASSWORD, *, url: str = PASSWORD_URL):
        body = {"current_password": current_password, "new_password": new_password}
        return bearer(session.access).post(url, body, format="json")

    return send


@pytest.mark.django_db
def test_password_change_with_wrong_current_password_is_400_field_error(change_password, user):
    response = change_password(current_password="not the password")

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["current_password"]
    assert body["current_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize("weak", ["short1", "password123", "4829103756"])
def test_password_change_to_a_weak_password_is_400_field_error(change_password, user, weak):
    response = change_password(new_password=weak)

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["new_password"]
    assert body["new_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_failed_password_change_keeps_the_session_alive(change_password, bearer, session):
    change_password(current_password="not the password")

    assert bearer(session.access).get(ME_URL).status_code == 200


@pytest.mark.django_db
def test_password_change_with_missing_fields_is_400(bearer, session):
    response = bearer(session.access).post(PASSWORD_URL, {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"current_password", "new_password"}


@pytest.mark.django_db
def test_password_change_answers_a_new_pair_that_works(change_password, bearer, post_json, user):
    response = change_password()

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert bearer(body["access"]).get(ME_URL).status_code == 200
    assert post_json(REFRESH_URL, {"refresh": body["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_password_change_kills_the_old_access_token_at_once(change_password, bearer, session):
    change_password()

    response = bearer(session.access).get(ME_URL)

    assert response.status_code == 401
    assert isinstance(response.json()["code"], str)


@pytest.mark.django_db
def test_password_change_revokes_every_old_refresh_token(change_password, post_json, session, user):
    # given another session of the same user, e.g. on a phone
    elsewhere = token_pair_for(user)

    change_password()

    for old in (session.refresh, elsewhere.refresh):
        response = post_json(REFRESH_URL, {"refresh": old})
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"


@pytest.mark.django_db
def test_password_change_kills_other_sessions_access_tokens_too(change_password, bearer, user):
    elsewhere = token_pair_for(user)

    change_password()

    assert bearer(elsewhere.access).get(ME_URL).status_code == 401


@pytest.mark.django_db
def test_after_password_change_only_the_new_password_logs_in(change_password, login, user):
    change_password()

    assert login(user.email, NEW_PASSWORD).status_code == 200
    old = login(user.email, DEFAULT_PASSWORD)
    assert old.status_code == 401
    assert old.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_password_change_accepts_a_trailing_slash(change_password, login, user):
    response = change_password(url=f"{PASSWORD_URL}/")

    assert response.status_code == 200
    assert login(user.email, NEW_PASSWORD).status_code == 200


@pytest.mark.django_db
def test_password_change_without_authentication_is_401(post_json, user):
    response = post_json(PASSWORD_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.django_db
def test_an_old_refresh_token_after_password_change_does_not_end_the_new_session(change_password, post_json, session):
    # given the password changed here, and another device still holding a pre-change refresh token
    new_pair = change_password().json()

    # when that device tries its old token
    stale = post_json(REFRESH_URL, {"refresh": session.refresh})

    # then it is refused, but it is not taken for theft: the new session lives on
    assert stale.status_code == 401
    assert post_json(REFRESH_URL, {"refresh": new_pair["refresh"]}).status_code == 200
