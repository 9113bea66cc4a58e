"""Whatever is sent to the accounts endpoints, the answer is JSON: `{detail, code}` or field errors."""

import pytest

from tests.django_core.accounts.paths import LOGIN_URL, LOGOUT_URL, REFRESH_URL, REGISTER_URL

AUTH_URLS = [REGISTER_URL, LOGIN_URL, REFRESH_URL, LOGOUT_URL]


def _assert_detail_and_code(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", AUTH_URLS)
def test_malformed_json_is_400_parse_error(api_client, url):
    response = api_client.post(url, data='{"email": ', content_type="application/json")

    _assert_detail_and_code(response, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize("url", AUTH_URLS)
def test_form_encoded_body_is_415_unsupported_media_type(api_client, url):
    response = api_client.post(url, data="email=a%40example.com", content_type="application/x-www-form-urlencoded")

    _assert_detail_and_code(response, 415, "unsupported_media_type")


@pytest.mark.django_db
@pytest.mark.parametrize("url", AUTH_URLS)
def test_get_on_an_auth_endpoint_is_405_json(api_client, url):
    response = api_client.get(url)

    _assert_detail_and_code(response, 405, "method_not_allowed")


@pytest.mark.django_db
@pytest.mark.parametrize("url", AUTH_URLS)
@pytest.mark.parametrize("body", [[], "a string", 42, None])
def test_json_that_is_not_an_object_is_a_400_json_error(post_json, url, body):
    response = post_json(url, body)

    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert response.json()


@pytest.mark.django_db
def test_null_characters_are_a_400_field_error_not_a_500(post_json):
    response = post_json(LOGIN_URL, {"email": "a\x00@example.com", "password": "x\x00"})

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


@pytest.mark.django_db
def test_overlong_fields_are_400_field_errors(post_json):
    response = post_json(REGISTER_URL, {"email": f"{'a' * 300}@example.com", "password": "p" * 200, "name": "n" * 200})

    assert response.status_code == 400
    assert set(response.json()) == {"email", "password", "name"}


@pytest.mark.django_db
def test_body_above_the_upload_limit_is_413_json(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"email": "a@example.com", "password": "x", "name": "' + "n" * 2048 + '"}'

    response = api_client.post(REGISTER_URL, data=body, content_type="application/json")

    _assert_detail_and_code(response, 413, "payload_too_large")
