from datetime import UTC, datetime, timedelta

import pytest

from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory


def ids(response):
    assert response.status_code == 200, response.json()
    return [task["id"] for task in response.json()["results"]]


@pytest.fixture
def client(team, client_for):
    return client_for(team["member"])


@pytest.fixture
def task(team):
    """Tasks of the team's project, reported by its member."""

    def make(**kwargs):
        return TaskFactory(project=team["project"], reporter=team["member"], **kwargs)

    return make


# --- ?project= ---------------------------------------------------------------------------------


def test_filter_by_project(team, client, task):
    MembershipFactory(project=team["other_project"], user=team["member"], role="viewer")
    here = task()
    there = TaskFactory(project=team["other_project"], reporter=team["outsider"])

    assert ids(client.get("/api/tasks", {"project": team["project"].pk})) == [here.pk]
    assert ids(client.get("/api/tasks", {"project": team["other_project"].pk})) == [there.pk]


def test_filter_by_a_project_i_am_not_in_is_empty_like_a_missing_one(team, client, task):
    TaskFactory(project=team["other_project"], reporter=team["outsider"])

    foreign = client.get("/api/tasks", {"project": team["other_project"].pk})
    missing = client.get("/api/tasks", {"project": 999_999_999})

    assert foreign.status_code == missing.status_code == 200
    assert foreign.json() == missing.json() == {"count": 0, "next": None, "previous": None, "results": []}


# --- ?status= and ?priority= ------------------------------------------------------------------

# Each filter's values, in order; both take one value or several separated by commas.
CHOICES = {"status": ["todo", "in_progress", "review", "done"], "priority": ["low", "medium", "high", "urgent"]}


@pytest.mark.parametrize("param", CHOICES)
def test_filter_by_one_value(client, task, param):
    first, *_others = [task(**{param: value}) for value in CHOICES[param]]

    assert ids(client.get("/api/tasks", {param: CHOICES[param][0]})) == [first.pk]


@pytest.mark.parametrize("param", CHOICES)
def test_filter_by_several_values(client, task, param):
    first, _second, third, _fourth = [task(**{param: value}) for value in CHOICES[param]]
    wanted = f"{CHOICES[param][0]},{CHOICES[param][2]}"

    assert set(ids(client.get("/api/tasks", {param: wanted}))) == {first.pk, third.pk}


@pytest.mark.parametrize("param", CHOICES)
def test_an_empty_value_is_ignored(client, task, param):
    for value in CHOICES[param]:
        task(**{param: value})

    assert len(ids(client.get("/api/tasks", {param: ""}))) == 4


def test_status_and_priority_combine(client, task):
    hit = task(status="review", priority="urgent")
    task(status="review", priority="low")
    task(status="todo", priority="urgent")

    assert ids(client.get("/api/tasks", {"status": "review", "priority": "urgent,high"})) == [hit.pk]


# --- ?reporter= --------------------------------------------------------------------------------


def test_filter_by_reporter_id(team, client, task):
    TaskFactory(project=team["project"], reporter=team["admin"])
    by_owner = TaskFactory(project=team["project"], reporter=team["owner"])
    task()

    assert ids(client.get("/api/tasks", {"reporter": team["owner"].pk})) == [by_owner.pk]


def test_filter_by_reporter_me(team, client, task):
    mine = task()
    TaskFactory(project=team["project"], reporter=team["admin"])

    assert ids(client.get("/api/tasks", {"reporter": "me"})) == [mine.pk]


def test_filter_by_reporter_me_is_the_caller_whoever_calls(team, client_for, task):
    by_member = task()
    by_admin = TaskFactory(project=team["project"], reporter=team["admin"])

    assert ids(client_for(team["admin"]).get("/api/tasks", {"reporter": "me"})) == [by_admin.pk]
    assert ids(client_for(team["member"]).get("/api/tasks", {"reporter": "me"})) == [by_member.pk]


def test_filter_by_an_outsiders_id_as_reporter_does_not_show_their_tasks(team, client):
    TaskFactory(project=team["other_project"], reporter=team["outsider"])

    assert ids(client.get("/api/tasks", {"reporter": team["outsider"].pk})) == []


def test_reporter_and_assignee_combine(team, client, task):
    hit = task(assignee=team["admin"])
    task(assignee=team["owner"])
    TaskFactory(project=team["project"], reporter=team["owner"], assignee=team["admin"])

    assert ids(client.get("/api/tasks", {"reporter": "me", "assignee": team["admin"].pk})) == [hit.pk]


# --- ?assignee= --------------------------------------------------------------------------------


def test_filter_by_assignee_id(team, client, task):
    admins = task(assignee=team["admin"])
    task(assignee=team["owner"])
    task()

    assert ids(client.get("/api/tasks", {"assignee": team["admin"].pk})) == [admins.pk]


def test_filter_by_assignee_me(team, client, task):
    mine = task(assignee=team["member"])
    task(assignee=team["admin"])
    task()

    assert ids(client.get("/api/tasks", {"assignee": "me"})) == [mine.pk]


def test_filter_by_assignee_none(team, client, task):
    unassigned = task()
    task(assignee=team["member"])

    assert ids(client.get("/api/tasks", {"assignee": "none"})) == [unassigned.pk]


def test_filter_by_an_outsiders_id_does_not_show_their_tasks(team, client):
    TaskFactory(project=team["other_project"], reporter=team["outsider"], assignee=team["outsider"])

    assert ids(client.get("/api/tasks", {"assignee": team["outsider"].pk})) == []


# --- ?deadline_after= / ?deadline_before= ------------------------------------------------------

NOON = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)


def test_deadline_after_is_inclusive(client, task):
    before = task(deadline=NOON - timedelta(seconds=1))
    at = task(deadline=NOON)
    after = task(deadline=NOON + timedelta(days=1))
    task(deadline=None)

    found = ids(client.get("/api/tasks", {"deadline_after": "2030-06-15T12:00:00Z"}))

    assert set(found) == {at.pk, after.pk}
    assert before.pk not in found


def test_deadline_before_is_exclusive(client, task):
    before = task(deadline=NOON - timedelta(seconds=1))
    task(deadline=NOON)
    task(deadline=None)

    assert ids(client.get("/api/tasks", {"deadline_before": "2030-06-15T12:00:00Z"})) == [before.pk]


def test_deadline_window_with_a_zone_offset(client, task):
    inside = task(deadline=NOON)
    task(deadline=NOON + timedelta(hours=3))
    task(deadline=NOON - timedelta(hours=3))

    # 13:00+02:00 is 11:00Z; 15:00+02:00 is 13:00Z.
    found = ids(
        client.get(
            "/api/tasks",
            {"deadline_after": "2030-06-15T13:00:00+02:00", "deadline_before": "2030-06-15T15:00:00+02:00"},
        )
    )

    assert found == [inside.pk]


# --- ?search= ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["deploy", "DEPLOY", "Deploy", "ploy the"])
def test_search_matches_the_title_case_insensitively(client, task, query):
    hit = task(title_en="Deploy the app")
    task(title_en="Write tests")

    assert ids(client.get("/api/tasks", {"search": query})) == [hit.pk]


def test_search_matches_the_description(client, task):
    hit = task(title_en="Something", description_en="Remember the Kubernetes manifests")
    task(title_en="Other", description_en="nothing here")

    assert ids(client.get("/api/tasks", {"search": "kubernetes"})) == [hit.pk]


@pytest.mark.parametrize("query", ["сервер", "СЕРВЕР", "Сервер", "починить"])  # noqa: RUF001
def test_search_matches_russian_title_case_insensitively(client, task, query):
    hit = task(title_en="Fix the server", title_ru="Починить сервер")
    task(title_en="Other", title_ru="Другое")

    assert ids(client.get("/api/tasks", {"search": query})) == [hit.pk]


def test_search_matches_russian_description(client, task):
    hit = task(title_en="Docs", description_ru="Обновить документацию")
    task(title_en="Other", description_ru="Ничего")

    assert ids(client.get("/api/tasks", {"search": "ДОКУМЕНТАЦИЮ"})) == [hit.pk]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_search_finds_every_language_whatever_the_request_language(client, task, language):
    english = task(title_en="Invoice")
    russian = task(title_en="Other", title_ru="Счёт-фактура")

    headers = {"HTTP_ACCEPT_LANGUAGE": language}

    assert ids(client.get("/api/tasks", {"search": "invoice"}, **headers)) == [english.pk]
    assert ids(client.get("/api/tasks", {"search": "счёт"}, **headers)) == [russian.pk]


@pytest.mark.parametrize("query", ["%", "_", "\\"])
def test_search_treats_wildcards_literally(client, task, query):
    task(title_en="plain title")
    hit = task(title_en=f"odd {query} title")

    assert ids(client.get("/api/tasks", {"search": query})) == [hit.pk]


def test_search_without_match_is_empty(client, task):
    task(title_en="Something")

    assert ids(client.get("/api/tasks", {"search": "zzz"})) == []


def test_search_does_not_reach_other_projects(team, client):
    TaskFactory(project=team["other_project"], reporter=team["outsider"], title_en="Secret plan")

    assert ids(client.get("/api/tasks", {"search": "secret"})) == []


# --- ?ordering= --------------------------------------------------------------------------------


def test_default_ordering_is_newest_first(client, task):
    tasks = [task() for _ in range(3)]

    assert ids(client.get("/api/tasks")) == [t.pk for t in reversed(tasks)]


def test_ordering_by_priority_follows_urgency_not_the_alphabet(client, task):
    by_priority = {p: task(priority=p) for p in ["urgent", "low", "high", "medium"]}
    expected = [by_priority[p].pk for p in ["low", "medium", "high", "urgent"]]

    assert ids(client.get("/api/tasks", {"ordering": "priority"})) == expected
    assert ids(client.get("/api/tasks", {"ordering": "-priority"})) == expected[::-1]


def test_ordering_by_status_follows_the_workflow(client, task):
    by_status = {s: task(status=s) for s in ["done", "review", "todo", "in_progress"]}
    expected = [by_status[s].pk for s in ["todo", "in_progress", "review", "done"]]

    assert ids(client.get("/api/tasks", {"ordering": "status"})) == expected
    assert ids(client.get("/api/tasks", {"ordering": "-status"})) == expected[::-1]


def test_ordering_by_deadline_puts_tasks_without_one_last_both_ways(client, task):
    no_deadline = task(deadline=None)
    late = task(deadline=NOON + timedelta(days=2))
    early = task(deadline=NOON)
    middle = task(deadline=NOON + timedelta(days=1))

    ascending = ids(client.get("/api/tasks", {"ordering": "deadline"}))
    descending = ids(client.get("/api/tasks", {"ordering": "-deadline"}))

    assert ascending == [early.pk, middle.pk, late.pk, no_deadline.pk]
    assert descending == [late.pk, middle.pk, early.pk, no_deadline.pk]


def test_ordering_by_title(client, task):
    b, c, a = task(title_en="beta"), task(title_en="gamma"), task(title_en="alpha")

    assert ids(client.get("/api/tasks", {"ordering": "title"})) == [a.pk, b.pk, c.pk]
    assert ids(client.get("/api/tasks", {"ordering": "-title"})) == [c.pk, b.pk, a.pk]


def test_ordering_by_id_created_at_and_updated_at(client, task):
    first, second, third = task(), task(), task()
    first.priority = "high"
    first.save()  # bumps updated_at: now the most recently updated

    assert ids(client.get("/api/tasks", {"ordering": "id"})) == [first.pk, second.pk, third.pk]
    assert ids(client.get("/api/tasks", {"ordering": "-id"})) == [third.pk, second.pk, first.pk]
    assert ids(client.get("/api/tasks", {"ordering": "created_at"})) == [first.pk, second.pk, third.pk]
    assert ids(client.get("/api/tasks", {"ordering": "-created_at"})) == [third.pk, second.pk, first.pk]
    assert ids(client.get("/api/tasks", {"ordering": "updated_at"})) == [second.pk, third.pk, first.pk]
    assert ids(client.get("/api/tasks", {"ordering": "-updated_at"})) == [first.pk, third.pk, second.pk]


def test_ordering_by_several_keys(client, task):
    high_late = task(priority="high", deadline=NOON + timedelta(days=1))
    high_early = task(priority="high", deadline=NOON)
    low = task(priority="low", deadline=NOON)

    found = ids(client.get("/api/tasks", {"ordering": "-priority,deadline"}))

    assert found == [high_early.pk, high_late.pk, low.pk]


def test_ties_are_broken_by_newest_id(client, task):
    tasks = [task(priority="medium") for _ in range(3)]

    assert ids(client.get("/api/tasks", {"ordering": "priority"})) == [t.pk for t in reversed(tasks)]


def test_ordering_applies_across_pages(client, task):
    by_priority = {p: task(priority=p) for p in ["medium", "urgent", "low", "high"]}

    first = ids(client.get("/api/tasks", {"ordering": "priority", "page_size": 2}))
    second = ids(client.get("/api/tasks", {"ordering": "priority", "page_size": 2, "page": 2}))

    assert first + second == [by_priority[p].pk for p in ["low", "medium", "high", "urgent"]]


# --- combined and invalid ----------------------------------------------------------------------


def test_filters_combine(team, client, task):
    hit = task(status="review", assignee=team["member"], title_en="Release notes", deadline=NOON)
    task(status="review", assignee=team["member"], title_en="Release party", deadline=None)
    task(status="todo", assignee=team["member"], title_en="Release notes v2", deadline=NOON)
    task(status="review", assignee=team["admin"], title_en="Release notes v3", deadline=NOON)

    response = client.get(
        "/api/tasks",
        {
            "project": team["project"].pk,
            "status": "review,done",
            "assignee": "me",
            "search": "release",
            "deadline_after": "2030-01-01T00:00:00Z",
            "deadline_before": "2031-01-01T00:00:00Z",
            "ordering": "-priority",
        },
    )

    assert ids(response) == [hit.pk]
    assert response.json()["count"] == 1


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("project", "-1"),
        ("project", "0"),
        ("project", "abc"),
        ("project", "1.5"),
        ("project", str(2**63)),
        ("status", "bogus"),
        ("status", "todo,bogus"),
        ("status", "DONE"),
        ("priority", "bogus"),
        ("priority", "high,bogus"),
        ("priority", "HIGH"),
        ("priority", "todo"),
        ("assignee", "abc"),
        ("assignee", "0"),
        ("assignee", "-3"),
        ("assignee", "ME"),
        ("assignee", str(2**63)),
        ("reporter", "abc"),
        ("reporter", "0"),
        ("reporter", "-3"),
        ("reporter", "ME"),
        ("reporter", "none"),
        ("reporter", str(2**63)),
        ("reporter", "1\x00"),
        ("deadline_after", "notadate"),
        ("deadline_after", "2030-13-45T00:00:00Z"),
        ("deadline_before", "tomorrow"),
        ("search", "x" * 201),
        ("search", "a\x00b"),
        ("assignee", "1\x00"),
        ("ordering", "password"),
        ("ordering", "-password"),
        ("ordering", "title,password"),
        ("ordering", "project__members__password"),
        ("ordering", "-"),
        ("ordering", "assignee__email"),
    ],
)
def test_invalid_filter_values_are_400_naming_the_parameter(team, client, task, param, value):
    task()

    response = client.get("/api/tasks", {param: value})

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [param]
    assert isinstance(body[param], list)
    assert body[param]


def test_several_invalid_filters_are_all_named(client):
    response = client.get(
        "/api/tasks",
        {"status": "bogus", "priority": "bogus", "assignee": "abc", "reporter": "abc", "ordering": "password"},
    )

    assert response.status_code == 400
    assert set(response.json()) == {"status", "priority", "assignee", "reporter", "ordering"}


def test_a_bad_priority_and_reporter_say_what_is_allowed(client):
    body = client.get("/api/tasks", {"priority": "bogus", "reporter": "abc"}).json()

    assert body["priority"] == ["Select a valid choice. bogus is not one of the available choices."]
    assert body["reporter"] == ["Use a user id or `me`."]


@pytest.mark.parametrize(
    ("param", "value"),
    [("deadline_after", "9999-12-31T23:59:59-01:00"), ("deadline_before", "0001-01-01T00:00:00+01:00")],
)
def test_extreme_deadlines_in_filters_are_not_an_error(client, task, param, value):
    task(deadline=NOON)

    response = client.get("/api/tasks", {param: value})

    assert response.status_code == 200
    assert response.json()["count"] == 0


KNOWN_TASK_LIST_PARAMETERS = (
    "page, page_size, project, status, priority, assignee, reporter, deadline_after, deadline_before, search, ordering"
)


def test_an_unknown_query_parameter_is_400_naming_it_and_the_known_ones(client, task):
    task()

    response = client.get("/api/tasks", {"colour": "red"})

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Unknown query parameter: colour. Known: {KNOWN_TASK_LIST_PARAMETERS}.",
        "code": "unknown_parameter",
    }


def test_several_unknown_query_parameters_are_all_named_even_next_to_known_ones(client, task):
    task(priority="high")

    response = client.get("/api/tasks", {"colour": "red", "priority": "high", "prio": "high"})

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Unknown query parameters: colour, prio. Known: {KNOWN_TASK_LIST_PARAMETERS}.",
        "code": "unknown_parameter",
    }


def test_an_unknown_query_parameter_is_refused_in_the_request_language(client):
    response = client.get("/api/tasks", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE="ru")

    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"
    assert response.json()["detail"].startswith("Неизвестный параметр запроса: colour.")


def test_a_misspelt_parameter_is_not_taken_for_the_filter_it_resembles(client, task):
    # `?priorty=` would otherwise answer with every task, as if it had filtered
    task(priority="low")

    assert client.get("/api/tasks", {"priorty": "urgent"}).status_code == 400
    assert ids(client.get("/api/tasks", {"priority": "urgent"})) == []


def test_every_known_parameter_is_still_accepted_together(team, client, task):
    hit = task(priority="high", status="review", assignee=team["member"], title_en="Known", deadline=NOON)

    response = client.get(
        "/api/tasks",
        {
            "page": 1,
            "page_size": 10,
            "project": team["project"].pk,
            "status": "review",
            "priority": "high",
            "assignee": "me",
            "reporter": "me",
            "deadline_after": "2030-01-01T00:00:00Z",
            "deadline_before": "2031-01-01T00:00:00Z",
            "search": "known",
            "ordering": "-priority",
        },
    )

    assert ids(response) == [hit.pk]


def test_filter_by_the_id_of_another_member(team, client, task):
    other = UserFactory()
    MembershipFactory(project=team["project"], user=other, role="member")
    theirs = task(assignee=other)

    assert ids(client.get("/api/tasks", {"assignee": f"{other.pk}"})) == [theirs.pk]
