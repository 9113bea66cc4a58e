"""The answer language: `Accept-Language`, else the user's `language`, else English."""

import pytest

from tests.django_core.accounts.paths import ME_URL
from tests.django_core.factories import UserFactory

MISSING_TASK_URL = "/api/tasks/999999"
NOT_FOUND_EN = {"detail": "Not found.", "code": "not_found"}
NOT_FOUND_RU = {"detail": "Не найдено.", "code": "not_found"}  # noqa: RUF001 (Russian text, not a look-alike)


@pytest.mark.django_db
def test_russian_user_without_accept_language_gets_russian_errors(client_for):
    russian = UserFactory(language="ru")

    response = client_for(russian).get(MISSING_TASK_URL)

    assert response.status_code == 404
    assert response.json() == NOT_FOUND_RU
    assert response["Content-Language"] == "ru"


@pytest.mark.django_db
def test_accept_language_wins_over_the_users_language(client_for):
    russian = UserFactory(language="ru")

    response = client_for(russian).get(MISSING_TASK_URL, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND_EN
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_english_user_asking_for_russian_gets_russian(client_for):
    english = UserFactory(language="en")

    response = client_for(english).get(MISSING_TASK_URL, HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")

    assert response.json() == NOT_FOUND_RU
    assert response["Content-Language"] == "ru"


@pytest.mark.django_db
def test_english_user_without_accept_language_gets_english(client_for):
    english = UserFactory(language="en")

    response = client_for(english).get(MISSING_TASK_URL)

    assert response.json() == NOT_FOUND_EN
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_russian_user_gets_russian_field_errors(client_for):
    russian = UserFactory(language="ru")

    response = client_for(russian).patch(ME_URL, {"name": ""}, format="json")

    assert response.status_code == 400
    assert response.json() == {"name": ["Это поле не может быть пустым."]}


@pytest.mark.django_db
def test_anonymous_request_is_english_by_default(api_client):
    response = api_client.get(ME_URL)

    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_anonymous_request_follows_accept_language(api_client):
    response = api_client.get(ME_URL, HTTP_ACCEPT_LANGUAGE="ru")

    assert response.json() == {"detail": "Учетные данные не были предоставлены.", "code": "not_authenticated"}
    assert response["Content-Language"] == "ru"


@pytest.mark.django_db
def test_a_russian_users_language_does_not_leak_into_the_next_request(client_for, api_client):
    russian = UserFactory(language="ru")
    client_for(russian).get(MISSING_TASK_URL)

    response = api_client.get(MISSING_TASK_URL)

    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_switching_language_on_me_changes_later_answers(client_for, user):
    client = client_for(user)
    assert client.patch(ME_URL, {"language": "ru"}, format="json").status_code == 200

    response = client.get(MISSING_TASK_URL)

    assert response.json() == NOT_FOUND_RU
    assert response["Content-Language"] == "ru"
