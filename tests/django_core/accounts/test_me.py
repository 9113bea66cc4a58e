import pytest

from accounts.models import User
from tests.django_core.accounts.paths import ME_URL
from tests.django_core.factories import UserFactory


@pytest.mark.django_db
def test_me_returns_exactly_my_profile(client_for):
    me = UserFactory(email="ada@example.com", name="Ada", language="ru", timezone="Europe/Moscow")

    response = client_for(me).get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": me.id,
        "email": "ada@example.com",
        "name": "Ada",
        "language": "ru",
        "timezone": "Europe/Moscow",
        "telegram_linked": False,
        "email_verified": True,
    }


@pytest.mark.django_db
def test_me_says_telegram_linked_once_a_chat_is_linked(client_for):
    me = UserFactory(telegram_chat_id=123456789)

    response = client_for(me).get(ME_URL)

    assert response.json()["telegram_linked"] is True
    assert "telegram_chat_id" not in response.json()


@pytest.mark.django_db
def test_me_accepts_a_trailing_slash(client_for, user):
    response = client_for(user).get(f"{ME_URL}/")

    assert response.status_code == 200
    assert response.json()["id"] == user.id


@pytest.mark.django_db
def test_me_without_authentication_is_401(api_client):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_patch_me_without_authentication_is_401(api_client):
    response = api_client.patch(ME_URL, {"name": "Mallory"}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_patch_me_updates_name_language_and_timezone(client_for, user):
    response = client_for(user).patch(
        ME_URL, {"name": "  Grace Hopper ", "language": "ru", "timezone": "America/New_York"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["language"], body["timezone"]) == ("Grace Hopper", "ru", "America/New_York")
    user.refresh_from_db()
    assert (user.name, user.language, user.timezone) == ("Grace Hopper", "ru", "America/New_York")


@pytest.mark.django_db
def test_patch_me_changes_only_the_fields_sent(client_for):
    me = UserFactory(name="Ada", language="en", timezone="Europe/Berlin")

    response = client_for(me).patch(ME_URL, {"language": "ru"}, format="json")

    assert response.status_code == 200
    me.refresh_from_db()
    assert (me.name, me.language, me.timezone) == ("Ada", "ru", "Europe/Berlin")


@pytest.mark.django_db
def test_patch_me_accepts_a_trailing_slash(client_for, user):
    response = client_for(user).patch(f"{ME_URL}/", {"name": "Slash"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.name == "Slash"


@pytest.mark.django_db
@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "GMT+25", ""])
def test_patch_me_with_unknown_timezone_is_400_and_changes_nothing(client_for, user, timezone):
    response = client_for(user).patch(ME_URL, {"timezone": timezone, "name": "Changed"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]
    user.refresh_from_db()
    assert user.timezone == "UTC"
    assert user.name != "Changed"


@pytest.mark.django_db
def test_patch_me_with_unknown_language_is_400(client_for, user):
    response = client_for(user).patch(ME_URL, {"language": "xx"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["language"]
    user.refresh_from_db()
    assert user.language == "en"


@pytest.mark.django_db
def test_patch_me_with_blank_name_is_400(client_for, user):
    response = client_for(user).patch(ME_URL, {"name": "   "}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["name"]


@pytest.mark.django_db
def test_patch_me_cannot_change_email(client_for):
    me = UserFactory(email="ada@example.com")

    response = client_for(me).patch(ME_URL, {"email": "mallory@example.com"}, format="json")

    assert response.status_code in (200, 400)
    me.refresh_from_db()
    assert me.email == "ada@example.com"
    assert not User.objects.filter(email="mallory@example.com").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field_value",
    [
        pytest.param({"is_staff": True}, id="is_staff"),
        pytest.param({"is_superuser": True}, id="is_superuser"),
        pytest.param({"telegram_chat_id": 42}, id="telegram_chat_id"),
        pytest.param({"id": 999999}, id="id"),
    ],
)
def test_patch_me_ignores_fields_that_are_not_mine_to_set(client_for, user, field_value):
    response = client_for(user).patch(ME_URL, field_value, format="json")

    assert response.status_code in (200, 400)
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.is_staff, fresh.is_superuser, fresh.telegram_chat_id) == (False, False, None)


@pytest.mark.django_db
def test_put_me_is_405_json(client_for, user):
    response = client_for(user).put(ME_URL, {"name": "x"}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
@pytest.mark.parametrize("chat_id", [None, 123456790])
@pytest.mark.parametrize("verified", [True, False])
def test_me_representation_equals_the_declared_fields(chat_id, verified):
    """UserSerializer builds its output by hand; it must equal DRF's declared fields (the schema)."""
    from django.utils import timezone
    from rest_framework import serializers

    from accounts.serializers import UserSerializer

    me = UserFactory(telegram_chat_id=chat_id, email_verified_at=timezone.now() if verified else None)

    assert UserSerializer(me).data == serializers.ModelSerializer.to_representation(UserSerializer(), me)


@pytest.mark.django_db
def test_the_users_lookup_loads_the_row_the_orm_loads():
    from accounts.selectors import user_get_by_id

    me = UserFactory(telegram_chat_id=123456791, name="Ada")
    fields = [field.attname for field in User._meta.concrete_fields]

    fast, orm = user_get_by_id(user_id=me.pk), User.objects.get(pk=me.pk)

    assert fast is not None
    assert [getattr(fast, name) for name in fields] == [getattr(orm, name) for name in fields]
    assert not fast._state.adding
    assert user_get_by_id(user_id=me.pk + 10_000) is None


@pytest.mark.django_db
def test_a_valid_access_token_is_resolved_by_the_users_lookup_not_the_orm(client_for, monkeypatch):
    """simplejwt writes the user id claim as a string; the authentication must still take its
    own lookup (accounts.selectors.user_get_by_id), not simplejwt's ORM fallback."""
    from rest_framework_simplejwt.authentication import JWTAuthentication

    me = UserFactory()

    def orm_lookup(self, validated_token):
        raise AssertionError("simplejwt's own user lookup ran")

    monkeypatch.setattr(JWTAuthentication, "get_user", orm_lookup)

    assert client_for(me).get(ME_URL).status_code == 200
