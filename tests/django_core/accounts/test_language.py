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


# --- Every supported language ---------------------------------------------------------------------

NOT_FOUND = {"en": "Not found.", "ru": "Не найдено.", "es": "No encontrado."}  # noqa: RUF001
BAD_EMAIL = {
    "en": "Enter a valid email address.",
    "ru": "Введите правильный адрес электронной почты.",
    "es": "Introduzca una dirección de correo electrónico válida.",
}
NOT_BLANK = {
    "en": "This field may not be blank.",
    "ru": "Это поле не может быть пустым.",
    "es": "Este campo no puede estar en blanco.",
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_a_users_language_answers_their_requests_without_accept_language(client_for, language):
    reader = UserFactory(language=language)

    response = client_for(reader).get(MISSING_TASK_URL)

    assert response.json() == {"detail": NOT_FOUND[language], "code": "not_found"}
    assert response["Content-Language"] == language


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_accept_language_picks_the_language_of_errors_and_field_errors(api_client, client_for, language):
    # a field error on an anonymous request
    response = api_client.post(
        "/api/auth/register",
        {"email": "not-an-email", "password": "plum orbit lantern 42", "name": "Ada"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    assert response.json() == {"email": [BAD_EMAIL[language]]}
    assert response["Content-Language"] == language

    # a field error and a 404 for a user who reads another language
    other = "ru" if language != "ru" else "es"
    client = client_for(UserFactory(language=other))
    response = client.patch(ME_URL, {"name": ""}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.json() == {"name": [NOT_BLANK[language]]}
    assert response["Content-Language"] == language
    response = client.get(MISSING_TASK_URL, HTTP_ACCEPT_LANGUAGE=f"{language};q=0.8")
    assert response.json()["detail"] == NOT_FOUND[language]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["de", "de-DE,fr;q=0.9", "*", ""])
def test_an_accept_language_naming_no_supported_language_leaves_the_users_own(client_for, header):
    spanish = UserFactory(language="es")

    response = client_for(spanish).get(MISSING_TASK_URL, HTTP_ACCEPT_LANGUAGE=header)

    assert response.json()["detail"] == "No encontrado."
    assert response["Content-Language"] == "es"


@pytest.mark.django_db
def test_an_unsupported_language_first_then_a_supported_one_picks_the_supported_one(client_for):
    russian = UserFactory(language="ru")

    response = client_for(russian).get(MISSING_TASK_URL, HTTP_ACCEPT_LANGUAGE="de,es-MX;q=0.8,en;q=0.5")

    assert response.json()["detail"] == "No encontrado."
    assert response["Content-Language"] == "es"


@pytest.mark.django_db
def test_an_anonymous_request_in_an_unsupported_language_gets_english(api_client):
    response = api_client.get(ME_URL, HTTP_ACCEPT_LANGUAGE="de")

    assert response.json()["detail"] == "Authentication credentials were not provided."
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_every_answer_carries_content_language(api_client, client_for, user, language):
    client = client_for(user)
    answers = {
        "ok": client.get(ME_URL, HTTP_ACCEPT_LANGUAGE=language),
        "unknown api path": client.get("/api/no-such-thing", HTTP_ACCEPT_LANGUAGE=language),
        "method not allowed": client.delete(ME_URL, HTTP_ACCEPT_LANGUAGE=language),
        "unauthenticated": api_client.get(ME_URL, HTTP_ACCEPT_LANGUAGE=language),
        "bad json": client.generic(
            "PATCH", ME_URL, "{", content_type="application/json", HTTP_ACCEPT_LANGUAGE=language
        ),
        "health": api_client.get("/api/health", HTTP_ACCEPT_LANGUAGE=language),
    }

    assert {name: r["Content-Language"] for name, r in answers.items()} == dict.fromkeys(answers, language)
    assert answers["unknown api path"].json() == {"detail": NOT_FOUND[language], "code": "not_found"}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ru", "es"])
def test_language_accepts_every_supported_code(client_for, user, language):
    response = client_for(user).patch(ME_URL, {"language": language}, format="json")

    assert response.status_code == 200
    assert response.json()["language"] == language


@pytest.mark.django_db
def test_language_refuses_an_unsupported_code(client_for, user):
    response = client_for(user).patch(ME_URL, {"language": "de"}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"language"}
