"""Bad input is a 400, never a 500: JSON nested too deeply, control characters in one-line
fields (task titles, project names, user names)."""

import pytest

from tests.django_core.accounts.paths import LOGIN_URL, ME_URL, REGISTER_URL


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [65, 5000])
def test_json_nested_past_the_limit_is_a_400(api_client, depth):
    body = "[" * depth + "]" * depth

    response = api_client.post(LOGIN_URL, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "json_too_deep"
    assert isinstance(response.json()["detail"], str)


@pytest.mark.django_db
def test_deep_objects_are_refused_too_and_shallow_ones_parse(api_client, settings):
    deep = '{"a":' * 70 + "1" + "}" * 70
    shallow = {"email": "a@example.com", "password": "x", "extra": [[[["ok"]]]]}

    refused = api_client.post(LOGIN_URL, data=deep, content_type="application/json")
    parsed = api_client.post(LOGIN_URL, shallow, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "json_too_deep"
    assert parsed.status_code == 401  # parsed and checked: wrong credentials


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["line\nbreak", "tab\there", "bell\x07", "nul\x00", "esc\x1b[31m", "del\x7f"])
def test_control_characters_in_a_task_title_are_a_field_error(client_for, team, bad):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title": bad}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"title"}


@pytest.mark.django_db
def test_control_characters_in_a_translated_title_are_a_field_error(client_for, team):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title_ru": "Задача\r\nBcc: x"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"title_ru"}


@pytest.mark.django_db
def test_control_characters_in_a_project_name_are_a_field_error(client_for, user):
    client = client_for(user)

    created = client.post("/api/projects", {"name": "Two\nlines"}, format="json")
    translated = client.post("/api/projects", {"name_es": "Uno\x00"}, format="json")

    assert created.status_code == translated.status_code == 400
    assert set(created.json()) == {"name"}
    assert set(translated.json()) == {"name_es"}


@pytest.mark.django_db
def test_control_characters_in_a_user_name_are_a_field_error(api_client, client_for, user):
    registered = api_client.post(
        REGISTER_URL, {"email": "new@example.com", "password": "a long passphrase", "name": "Eve\nAdmin"}, format="json"
    )
    renamed = client_for(user).patch(ME_URL, {"name": "Eve\u2028Admin"}, format="json")

    assert registered.status_code == renamed.status_code == 400
    assert set(registered.json()) == {"name"}
    assert set(renamed.json()) == {"name"}


@pytest.mark.django_db
def test_ordinary_text_still_passes(client_for, team):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {"project": team["project"].pk, "title": "Ünïcode — «ok» 🚀", "description": "two\nlines"},
        format="json",
    )

    assert response.status_code == 201
