"""The Django admin pages for tasks and comments render and search (staff only)."""

import pytest

from tests.django_core.factories import CommentFactory, TaskFactory


@pytest.fixture
def task(team):
    return TaskFactory(
        project=team["project"],
        reporter=team["member"],
        assignee=team["admin"],
        title_en="Rotate the keys",
        title_ru="Сменить ключи",
    )


@pytest.mark.parametrize(
    "query",
    ["", "?q=rotate", "?q=ключи", "?status__exact=todo", "?o=-2"],
)
def test_task_changelist_renders_and_searches(admin_client, task, query):
    response = admin_client.get(f"/admin/tasks/task/{query}")

    assert response.status_code == 200
    assert b"Rotate the keys" in response.content


def test_task_changelist_search_by_assignee_email(admin_client, task, team):
    TaskFactory(project=team["project"], reporter=team["member"], title_en="Unrelated")

    response = admin_client.get("/admin/tasks/task/", {"q": team["admin"].email})

    assert response.status_code == 200
    assert b"Rotate the keys" in response.content
    assert b"Unrelated" not in response.content


def test_task_search_without_match(admin_client, task):
    response = admin_client.get("/admin/tasks/task/", {"q": "nothing-like-this"})

    assert response.status_code == 200
    assert b"Rotate the keys" not in response.content


def test_task_change_and_add_forms_render(admin_client, task):
    CommentFactory(task=task, author=task.reporter)

    assert admin_client.get(f"/admin/tasks/task/{task.pk}/change/").status_code == 200
    assert admin_client.get("/admin/tasks/task/add/").status_code == 200


def test_comment_admin_renders_and_searches(admin_client, task):
    found = CommentFactory(task=task, author=task.reporter, body="Needle in the haystack")
    other = CommentFactory(task=task, author=task.reporter, body="Something else")

    listing = admin_client.get("/admin/tasks/comment/", {"q": "needle"})

    assert listing.status_code == 200
    assert f"/admin/tasks/comment/{found.pk}/change/".encode() in listing.content
    assert f"/admin/tasks/comment/{other.pk}/change/".encode() not in listing.content


def test_non_staff_cannot_open_the_task_admin(client, team, task):
    client.force_login(team["owner"])

    response = client.get("/admin/tasks/task/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_language_tabs_load_no_third_party_script(admin_client, task):
    page = admin_client.get(f"/admin/tasks/task/{task.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/vendor/jquery-ui/jquery-ui.min.js" in html
    assert "googleapis" not in html
    assert "title_es" in html  # a tab per language
