import pytest

from tasks.models import Task
from tests.django_core.factories import TaskFactory


@pytest.fixture
def bilingual(team):
    return TaskFactory(
        project=team["project"],
        reporter=team["member"],
        title_en="Fix the server",
        title_ru="Починить сервер",
        description_en="It is down",
        description_ru="Он лежит",
    )


@pytest.mark.parametrize(
    ("language", "title", "description"),
    [
        ("en", "Fix the server", "It is down"),
        ("ru", "Починить сервер", "Он лежит"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "Починить сервер", "Он лежит"),
        ("de", "Fix the server", "It is down"),
    ],
)
def test_title_and_description_follow_accept_language(team, bilingual, client_for, language, title, description):
    client = client_for(team["member"])

    detail = client.get(f"/api/tasks/{bilingual.pk}", HTTP_ACCEPT_LANGUAGE=language).json()
    listed = client.get("/api/tasks", HTTP_ACCEPT_LANGUAGE=language).json()["results"][0]

    for body in (detail, listed):
        assert (body["title"], body["description"]) == (title, description)
        # Every language stays available under its own name.
        assert body["title_en"] == "Fix the server"
        assert body["title_ru"] == "Починить сервер"


@pytest.mark.parametrize("missing", [None, ""])
def test_russian_falls_back_to_english(team, client_for, missing):
    task = TaskFactory(project=team["project"], reporter=team["member"], title_en="Only English", title_ru=missing)

    body = client_for(team["member"]).get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="ru").json()

    assert body["title"] == "Only English"


def test_english_falls_back_to_russian(team, client_for):
    task = TaskFactory(project=team["project"], reporter=team["member"], title_en=None, title_ru="Только русский")

    body = client_for(team["member"]).get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["title"] == "Только русский"


def test_without_accept_language_the_users_language_is_used(team, bilingual, client_for):
    reader = team["admin"]
    reader.language = "ru"
    reader.save()

    body = client_for(reader).get(f"/api/tasks/{bilingual.pk}").json()

    assert body["title"] == "Починить сервер"


def test_accept_language_wins_over_the_users_language(team, bilingual, client_for):
    reader = team["admin"]
    reader.language = "ru"
    reader.save()

    body = client_for(reader).get(f"/api/tasks/{bilingual.pk}", HTTP_ACCEPT_LANGUAGE="en").json()

    assert body["title"] == "Fix the server"


def test_create_with_title_in_russian_writes_title_ru(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {"project": team["project"].pk, "title": "Написать тесты", "description": "Много"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.title_ru == "Написать тесты"
    assert task.description_ru == "Много"
    assert not task.title_en
    assert response.json()["title"] == "Написать тесты"
    # An English reader still sees a title (the Russian one, as the fallback).
    english = client_for(team["member"]).get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["title"] == "Написать тесты"


def test_create_in_the_users_language_without_header(team, client_for):
    writer = team["member"]
    writer.language = "ru"
    writer.save()

    response = client_for(writer).post("/api/tasks", {"project": team["project"].pk, "title": "Задача"}, format="json")

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert task.title_ru == "Задача"
    assert not task.title_en


def test_create_with_both_languages_explicitly(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {"project": team["project"].pk, "title_en": "Deploy", "title_ru": "Выкатить", "description_ru": "Быстро"},
        format="json",
    )

    assert response.status_code == 201
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.title_en, task.title_ru, task.description_ru) == ("Deploy", "Выкатить", "Быстро")


def test_create_with_only_a_russian_title_column(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks", {"project": team["project"].pk, "title_ru": "Только так"}, format="json"
    )

    assert response.status_code == 201
    assert Task.objects.get(pk=response.json()["id"]).title_ru == "Только так"


def test_patch_title_in_russian_writes_only_title_ru(team, bilingual, client_for):
    response = client_for(team["member"]).patch(
        f"/api/tasks/{bilingual.pk}",
        {"title": "Перезапустить сервер", "description": "Снова"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )

    assert response.status_code == 200
    assert response.json()["title"] == "Перезапустить сервер"
    bilingual.refresh_from_db()
    assert bilingual.title_ru == "Перезапустить сервер"
    assert bilingual.description_ru == "Снова"
    assert bilingual.title_en == "Fix the server"
    assert bilingual.description_en == "It is down"


def test_patch_title_in_english_writes_only_title_en(team, bilingual, client_for):
    response = client_for(team["member"]).patch(
        f"/api/tasks/{bilingual.pk}", {"title": "Restart the server"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    bilingual.refresh_from_db()
    assert bilingual.title_en == "Restart the server"
    assert bilingual.title_ru == "Починить сервер"


def test_ordering_by_title_follows_the_request_language(team, client_for):
    a_en_c_ru = TaskFactory(project=team["project"], reporter=team["member"], title_en="a", title_ru="в")
    b_en_a_ru = TaskFactory(project=team["project"], reporter=team["member"], title_en="b", title_ru="а")  # noqa: RUF001
    c_en_b_ru = TaskFactory(project=team["project"], reporter=team["member"], title_en="c", title_ru="б")  # noqa: RUF001
    client = client_for(team["member"])

    english = client.get("/api/tasks", {"ordering": "title"}, HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    russian = client.get("/api/tasks", {"ordering": "title"}, HTTP_ACCEPT_LANGUAGE="ru").json()["results"]

    assert [t["id"] for t in english] == [a_en_c_ru.pk, b_en_a_ru.pk, c_en_b_ru.pk]
    assert [t["id"] for t in russian] == [b_en_a_ru.pk, c_en_b_ru.pk, a_en_c_ru.pk]
    assert [t["title"] for t in russian] == ["а", "б", "в"]  # noqa: RUF001


def test_ordering_by_title_sorts_fallback_titles_as_shown(team, client_for):
    # In Russian, a task without a Russian title is shown (and so sorted) by its English title.
    for title_en, title_ru in [("Zulu", "Альфа"), ("Bravo", None), ("Alpha", ""), ("Yankee", "Яблоко")]:
        TaskFactory(project=team["project"], reporter=team["member"], title_en=title_en, title_ru=title_ru)

    for ordering, reverse in (("title", False), ("-title", True)):
        results = (
            client_for(team["member"])
            .get("/api/tasks", {"ordering": ordering}, HTTP_ACCEPT_LANGUAGE="ru")
            .json()["results"]
        )
        shown = [t["title"] for t in results]

        assert shown == sorted(shown, reverse=reverse), ordering


# --- Spanish, and every language alike -------------------------------------------------------------


@pytest.mark.parametrize("missing", [None, ""])
def test_spanish_falls_back_to_english(team, client_for, missing):
    task = TaskFactory(
        project=team["project"], reporter=team["member"], title_en="Only English", title_ru="Русский", title_es=missing
    )

    body = client_for(team["member"]).get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="es").json()

    assert body["title"] == "Only English"
    assert body["title_es"] == missing


def test_a_spanish_title_wins_in_spanish_once_written(team, client_for):
    task = TaskFactory(project=team["project"], reporter=team["member"], title_en="Fix the server")
    client = client_for(team["member"])

    response = client.patch(f"/api/tasks/{task.pk}", {"title_es": "Arreglar el servidor"}, format="json")

    assert response.status_code == 200, response.json()
    assert client.get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="es").json()["title"] == "Arreglar el servidor"
    assert client.get(f"/api/tasks/{task.pk}", HTTP_ACCEPT_LANGUAGE="en").json()["title"] == "Fix the server"
    task.refresh_from_db()
    assert (task.title_en, task.title_es) == ("Fix the server", "Arreglar el servidor")


def test_a_title_written_in_spanish_lands_in_title_es(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks",
        {"project": team["project"].pk, "title": "Escribir pruebas", "description": "Muchas"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )

    assert response.status_code == 201, response.json()
    task = Task.objects.get(pk=response.json()["id"])
    assert (task.title_es, task.description_es) == ("Escribir pruebas", "Muchas")
    assert not task.title_en


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("title_en", "Invoice"),
        ("title_ru", "Счёт-фактура"),
        ("title_es", "Factura"),
        ("description_es", "Pagar la factura"),
    ],
)
@pytest.mark.parametrize("reader_language", ["en", "ru", "es"])
def test_search_finds_a_task_by_its_text_in_any_language_whatever_the_readers(
    team, client_for, column, value, reader_language
):
    hit = TaskFactory(project=team["project"], reporter=team["member"], **{column: value})
    TaskFactory(project=team["project"], reporter=team["member"], title_en="Other", title_es="Otra")

    response = client_for(team["member"]).get(
        "/api/tasks", {"search": value[2:8].upper()}, HTTP_ACCEPT_LANGUAGE=reader_language
    )

    assert [task["id"] for task in response.json()["results"]] == [hit.pk]
