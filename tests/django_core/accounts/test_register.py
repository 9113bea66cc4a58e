import pytest
from django.test import override_settings

from accounts.models import User
from tests.django_core.accounts.paths import REGISTER_URL
from tests.django_core.factories import UserFactory

STRONG_PASSWORD = "plum orbit lantern 42"


def _payload(**changes):
    return {"email": "ada@example.com", "password": STRONG_PASSWORD, "name": "Ada Lovelace", **changes}


@pytest.mark.django_db
def test_register_creates_user_and_answers_exactly_id_email_name_language(post_json):
    response = post_json(REGISTER_URL, _payload(language="ru"))

    assert response.status_code == 201
    body = response.json()
    user = User.objects.get()
    assert body == {"id": user.id, "email": "ada@example.com", "name": "Ada Lovelace", "language": "ru"}
    assert user.check_password(STRONG_PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser


@pytest.mark.django_db
def test_register_defaults_language_to_english_and_timezone_to_utc(post_json):
    response = post_json(REGISTER_URL, _payload())

    assert response.status_code == 201
    assert response.json()["language"] == "en"
    user = User.objects.get(pk=response.json()["id"])
    assert (user.language, user.timezone) == ("en", "UTC")


@pytest.mark.django_db
def test_register_stores_the_given_timezone(post_json):
    response = post_json(REGISTER_URL, _payload(timezone="Europe/Berlin"))

    assert response.status_code == 201
    assert User.objects.get(pk=response.json()["id"]).timezone == "Europe/Berlin"


@pytest.mark.django_db
def test_register_stores_email_lower_cased_and_trimmed(post_json):
    response = post_json(REGISTER_URL, _payload(email="  Ada.Lovelace@Example.COM "))

    assert response.status_code == 201
    assert response.json()["email"] == "ada.lovelace@example.com"
    assert User.objects.get().email == "ada.lovelace@example.com"


@pytest.mark.django_db
def test_registered_user_can_log_in(post_json, login):
    post_json(REGISTER_URL, _payload(email="Grace@Example.com"))

    response = login("grace@example.com", STRONG_PASSWORD)

    assert response.status_code == 200


@pytest.mark.django_db
def test_register_accepts_a_trailing_slash(post_json):
    response = post_json(f"{REGISTER_URL}/", _payload())

    assert response.status_code == 201
    assert User.objects.filter(email="ada@example.com").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("taken", ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.com"])
def test_register_with_taken_email_in_any_case_is_400_email_error(post_json, taken):
    # given a user with that email, stored lower-cased
    UserFactory(email="ada@example.com")

    response = post_json(REGISTER_URL, _payload(email=taken))

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["email"]
    assert isinstance(body["email"], list)
    assert body["email"]
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    [
        pytest.param("short1", id="too-short"),
        pytest.param("password123", id="common"),
        pytest.param("4829103756", id="numeric"),
        pytest.param("ada@example.com", id="like-the-email"),
    ],
)
def test_register_with_weak_password_is_400_password_error(post_json, password):
    response = post_json(REGISTER_URL, _payload(password=password))

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["password"]
    assert all(isinstance(message, str) and message for message in body["password"])
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_with_unknown_language_is_400_language_error(post_json):
    response = post_json(REGISTER_URL, _payload(language="de"))

    assert response.status_code == 400
    assert list(response.json()) == ["language"]
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "utc+3", ""])
def test_register_with_unknown_timezone_is_400_timezone_error(post_json, timezone):
    response = post_json(REGISTER_URL, _payload(timezone=timezone))

    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_with_invalid_email_is_400_email_error(post_json):
    response = post_json(REGISTER_URL, _payload(email="not-an-email"))

    assert response.status_code == 400
    assert list(response.json()) == ["email"]


@pytest.mark.django_db
def test_register_with_blank_name_is_400_name_error(post_json):
    response = post_json(REGISTER_URL, _payload(name="   "))

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


@pytest.mark.django_db
def test_register_with_no_fields_lists_every_required_field(post_json):
    response = post_json(REGISTER_URL, {})

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"email", "password", "name"}
    assert all(isinstance(messages, list) and messages for messages in body.values())


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["email", "password", "name"])
def test_register_without_one_field_is_400_for_that_field(post_json, missing):
    payload = _payload()
    del payload[missing]

    response = post_json(REGISTER_URL, payload)

    assert response.status_code == 400
    assert list(response.json()) == [missing]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_cannot_make_a_staff_or_superuser_account(post_json):
    response = post_json(REGISTER_URL, _payload(is_staff=True, is_superuser=True, is_active=False))

    assert response.status_code == 201
    user = User.objects.get()
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)


@pytest.mark.django_db
@override_settings(REGISTRATION_OPEN=False)
def test_register_when_registration_is_closed_is_403_registration_closed(post_json):
    response = post_json(REGISTER_URL, _payload())

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "registration_closed"
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert not User.objects.exists()


@pytest.mark.django_db
@override_settings(REGISTRATION_OPEN=False)
def test_register_when_closed_is_403_with_a_trailing_slash_too(post_json):
    response = post_json(f"{REGISTER_URL}/", _payload())

    assert response.status_code == 403
    assert response.json()["code"] == "registration_closed"
