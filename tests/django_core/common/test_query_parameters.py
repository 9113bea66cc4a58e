"""A list endpoint refuses a query parameter it does not know (common.query_parameters): 400
`unknown_parameter` naming it and the known ones, rather than answering as if it had filtered."""

from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from common.query_parameters import KnownQueryParametersMixin
from tests.django_core.factories import TaskFactory

pytestmark = pytest.mark.django_db

# path (with `{project}` / `{task}`), the parameters it knows besides page and page_size
LISTS: list[tuple[str, list[str]]] = [
    ("/api/projects", []),
    ("/api/projects/{project}/members", []),
    ("/api/projects/{project}/invites", []),
    ("/api/invites", []),
    (
        "/api/tasks",
        [
            *("project", "status", "priority", "assignee", "reporter"),
            *("deadline_after", "deadline_before", "search", "ordering"),
        ],
    ),
    ("/api/tasks/{task}/comments", []),
    ("/api/tasks/{task}/activity", []),
    ("/api/notifications", ["unread"]),
]


@pytest.fixture
def place(team: dict[str, Any]) -> dict[str, int]:
    task = TaskFactory(project=team["project"], reporter=team["owner"])
    return {"project": team["project"].pk, "task": task.pk}


def url(path: str, place: dict[str, int]) -> str:
    return path.format(**place)


@pytest.mark.parametrize(("path", "known"), LISTS, ids=[path for path, _ in LISTS])
def test_an_unknown_parameter_is_400_on_every_list(team, client_for, place, path, known):
    response = client_for(team["owner"]).get(url(path, place), {"colour": "red"})

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Unknown query parameter: colour. Known: {', '.join(['page', 'page_size', *known])}.",
        "code": "unknown_parameter",
    }


@pytest.mark.parametrize(("path", "known"), LISTS, ids=[path for path, _ in LISTS])
def test_the_pagination_parameters_are_known_on_every_list(team, client_for, place, path, known):
    response = client_for(team["owner"]).get(url(path, place), {"page": 1, "page_size": 5})

    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_the_notification_lists_own_parameter_is_known(team, client_for):
    response = client_for(team["owner"]).get("/api/notifications", {"unread": "true"})

    assert response.status_code == 200


def test_a_parameter_name_is_compared_exactly(team, client_for):
    client = client_for(team["owner"])

    for name in ("Page", "page ", "page_size[]", "unread"):
        response = client.get("/api/projects", {name: "1"})
        assert response.status_code == 400, name
        assert response.json()["code"] == "unknown_parameter"


def test_a_very_long_unknown_name_is_cut_in_the_message(team, client_for):
    response = client_for(team["owner"]).get("/api/projects", {"x" * 500: "1"})

    assert response.status_code == 400
    assert response.json()["detail"] == f"Unknown query parameter: {'x' * 50}…. Known: page, page_size."


def test_an_anonymous_caller_is_told_to_log_in_first(api_client):
    response = api_client.get("/api/tasks", {"colour": "red"})

    assert response.status_code == 401


def test_an_outsider_is_refused_the_parameter_before_the_project_is_looked_up(team, client_for, place):
    # the same answer whether the project exists or not: nothing leaks
    client = client_for(team["outsider"])

    foreign = client.get(f"/api/projects/{place['project']}/members", {"colour": "red"})
    missing = client.get("/api/projects/999999999/members", {"colour": "red"})

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == missing.json()


def test_only_reads_are_checked(team, client_for):
    response = client_for(team["member"]).post(
        "/api/tasks?colour=red", {"project": team["project"].pk, "title": "Posted"}, format="json"
    )

    assert response.status_code == 201


def test_the_message_is_in_the_request_language(team, client_for):
    client = client_for(team["owner"])

    russian = client.get("/api/projects", {"colour": "red", "size": "1"}, HTTP_ACCEPT_LANGUAGE="ru")
    spanish = client.get("/api/projects", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE="es")

    assert russian.json()["detail"] == "Неизвестные параметры запроса: colour, size. Допустимые: page, page_size."
    assert spanish.json()["detail"] == "Parámetro de consulta desconocido: colour. Admitidos: page, page_size."


def _paginated_views() -> list[type]:
    def walk(patterns: list[Any]) -> list[type]:
        views = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                views += walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if view is not None and getattr(view, "pagination_class", None) is not None:
                    views.append(view)
        return views

    return list(dict.fromkeys(walk(get_resolver().url_patterns)))


def test_every_paginated_list_of_the_url_conf_checks_its_parameters():
    views = _paginated_views()

    assert len(views) == len(LISTS)
    assert [view.__name__ for view in views if not issubclass(view, KnownQueryParametersMixin)] == []
