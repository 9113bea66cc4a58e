"""The board: GET /api/projects/{id}/board in one request, POST /api/tasks/{id}/move, and the
rank every write keeps."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from notifications.models import OutboxEvent

from tasks import ranking
from tasks.models import Task, TaskActivity
from tasks.services import task_create, task_move, task_update
from tests.django_core.factories import TaskFactory
from tests.django_core.tasks.conftest import NOT_FOUND

pytestmark = pytest.mark.django_db


def column(project, status: str) -> list[int]:
    return list(Task.objects.filter(project=project, status=status).order_by("rank", "id").values_list("id", flat=True))


def board_of(client, project) -> dict[str, Any]:
    response = client.get(f"/api/projects/{project.pk}/board")
    assert response.status_code == 200, response.content
    return response.json()


def created(team, *titles, status="todo"):
    return [task_create(actor=team["member"], project=team["project"], title=title, status=status) for title in titles]


# --- Ranks kept by every write ------------------------------------------------------------------


def test_new_tasks_join_the_end_of_their_column(team, django_capture_on_commit_callbacks):
    first, second, third = created(team, "One", "Two", "Three")

    assert column(team["project"], "todo") == [first.pk, second.pk, third.pk]
    assert first.rank < second.rank < third.rank


def test_a_status_changed_by_patch_joins_the_end_of_the_new_column(team, client_for):
    doing = created(team, "Doing 1", "Doing 2", status="in_progress")
    (todo,) = created(team, "To do")

    response = client_for(team["member"]).patch(f"/api/tasks/{todo.pk}", {"status": "in_progress"}, format="json")

    assert response.status_code == 200
    assert column(team["project"], "in_progress") == [doing[0].pk, doing[1].pk, todo.pk]
    assert response.json()["rank"] == Task.objects.get(pk=todo.pk).rank


# --- The board in one request ------------------------------------------------------------------


def test_the_board_has_every_column_in_workflow_order_with_cards_in_rank_order(team, client_for):
    a, b, c = created(team, "A", "B", "C")
    (done,) = created(team, "Finished", status="done")
    task_move(task=c, actor=team["member"], after_id=None, before_id=a.pk)  # C on top

    board = board_of(client_for(team["viewer"]), team["project"])

    assert [col["status"] for col in board["columns"]] == ["todo", "in_progress", "review", "done"]
    todo, doing, review, finished = board["columns"]
    assert [card["id"] for card in todo["tasks"]] == [c.pk, a.pk, b.pk]
    assert (todo["count"], doing["count"], review["count"], finished["count"]) == (3, 0, 0, 1)
    assert finished["tasks"] == [
        {
            "id": done.pk,
            "title": "Finished",
            "status": "done",
            "priority": "medium",
            "rank": done.rank,
            "assignee_id": None,
            "deadline": None,
        }
    ]
    assert board["project"]["id"] == team["project"].pk
    assert board["project"]["my_role"] == "viewer"
    assert sorted(m["user"]["id"] for m in board["members"]) == sorted(
        team[role].pk for role in ("owner", "admin", "member", "viewer")
    )


def test_the_board_titles_are_in_the_request_language_with_the_english_fallback(team, client_for):
    TaskFactory(project=team["project"], title_en="Launch", title_ru="Запуск")
    TaskFactory(project=team["project"], title_en="Only English")

    board = board_of(client_for(team["member"]), team["project"])
    ru = client_for(team["member"]).get(f"/api/projects/{team['project'].pk}/board", HTTP_ACCEPT_LANGUAGE="ru")

    assert sorted(card["title"] for card in board["columns"][0]["tasks"]) == ["Launch", "Only English"]
    assert sorted(card["title"] for card in ru.json()["columns"][0]["tasks"]) == ["Only English", "Запуск"]


def test_a_column_holds_its_first_cards_and_counts_them_all(team, client_for, monkeypatch):
    from tasks import selectors

    monkeypatch.setattr(selectors, "BOARD_COLUMN_LIMIT", 3)
    tasks = created(team, *[f"T{n}" for n in range(5)])

    todo = board_of(client_for(team["member"]), team["project"])["columns"][0]

    assert todo["count"] == 5
    assert [card["id"] for card in todo["tasks"]] == [task.pk for task in tasks[:3]]


def test_the_board_costs_the_same_few_queries_for_200_cards(team, client_for):
    statuses = ["todo", "in_progress", "review", "done"]
    Task.objects.bulk_create(
        [
            Task(project=team["project"], title=f"T{n}", status=statuses[n % 4], rank=key, reporter=team["member"])
            for n, key in enumerate(ranking.keys_in_order(200))
        ]
    )
    client = client_for(team["member"])

    with CaptureQueriesContext(connection) as queries:
        board = board_of(client, team["project"])

    assert sum(col["count"] for col in board["columns"]) == 200
    # The user, the project with the role, the members, the cards.
    assert len(queries) <= 4, [q["sql"] for q in queries]


def test_a_non_member_gets_not_found_for_the_board(team, client_for):
    response = client_for(team["outsider"]).get(f"/api/projects/{team['project'].pk}/board")

    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- Moving a card -----------------------------------------------------------------------------


def test_a_card_dropped_between_two_cards_of_another_column_lands_there(team, client_for):
    (card,) = created(team, "Card")
    upper, lower = created(team, "Upper", "Lower", status="review")

    response = client_for(team["member"]).post(
        f"/api/tasks/{card.pk}/move", {"status": "review", "after": upper.pk, "before": lower.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "review"
    assert column(team["project"], "review") == [upper.pk, card.pk, lower.pk]
    assert column(team["project"], "todo") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"after": "first"}, ["first", "moved", "second", "third"]),
        ({"before": "first"}, ["moved", "first", "second", "third"]),
        ({"after": "third"}, ["first", "second", "third", "moved"]),
        ({"before": "third"}, ["first", "second", "moved", "third"]),
        ({}, ["first", "second", "third", "moved"]),
    ],
    ids=["below-first", "top", "bottom-after", "above-last", "end"],
)
def test_a_card_moves_next_to_one_neighbour_or_to_the_end(team, client_for, body, expected):
    first, second, third, moved = created(team, "first", "second", "third", "moved")
    names = {"first": first, "second": second, "third": third, "moved": moved}
    task_move(task=moved, actor=team["member"], before_id=first.pk)  # start elsewhere: the top

    response = client_for(team["member"]).post(
        f"/api/tasks/{moved.pk}/move", {key: names[value].pk for key, value in body.items()}, format="json"
    )

    assert response.status_code == 200, response.content
    assert column(team["project"], "todo") == [names[name].pk for name in expected]


def test_a_move_within_the_column_is_task_moved_for_boards_and_notifies_nobody(
    team, client_for, django_capture_on_commit_callbacks
):
    first, second = created(team, "first", "second")
    OutboxEvent.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).post(f"/api/tasks/{second.pk}/move", {"before": first.pk}, format="json")

    assert response.status_code == 200
    (row,) = OutboxEvent.objects.all()
    assert row.type == "task.moved"
    assert row.envelope["data"]["task"]["rank"] == Task.objects.get(pk=second.pk).rank
    assert row.recipients["web"] == []
    # Every member's board hears of it, the mover's other tabs too; nobody else.
    members = sorted(team[role].pk for role in ("owner", "admin", "member", "viewer"))
    assert row.deliveries == [{"user_id": pk, "notification": None} for pk in members]
    assert not TaskActivity.objects.filter(event_id=row.event_id).exists()


def test_a_move_to_another_column_is_a_status_change_recorded_in_the_history(
    team, client_for, django_capture_on_commit_callbacks
):
    (card,) = created(team, "Card")
    OutboxEvent.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        client_for(team["member"]).post(f"/api/tasks/{card.pk}/move", {"status": "done"}, format="json")

    (row,) = OutboxEvent.objects.all()
    assert (row.type, row.envelope["data"]["from"], row.envelope["data"]["to"]) == (
        "task.status_changed",
        "todo",
        "done",
    )
    card.refresh_from_db()
    assert card.completed_at is not None
    entry = TaskActivity.objects.get(event_id=row.event_id)
    assert (entry.task_id, entry.type, entry.actor_id, entry.actor_name) == (
        card.pk,
        "task.status_changed",
        team["member"].pk,
        team["member"].name,
    )
    assert entry.data == row.envelope["data"]


def test_every_write_of_a_task_leaves_its_history(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        task = task_create(actor=team["member"], project=team["project"], title="History", assignee=team["admin"])
        task_update(task=task, actor=team["admin"], fields={"status": "review", "priority": "urgent"})

    assert list(TaskActivity.objects.filter(task=task).order_by("id").values_list("type", flat=True)) == [
        "task.created",
        "task.assigned",
        "task.status_changed",
        "task.updated",
    ]


@pytest.mark.parametrize("neighbour", ["itself", "other_column", "other_project", "missing"])
def test_a_neighbour_outside_the_target_column_is_refused_and_changes_nothing(team, client_for, neighbour):
    card, _same_column = created(team, "Card", "Same column")
    (elsewhere,) = created(team, "Elsewhere", status="review")
    foreign = TaskFactory(project=team["other_project"])
    ids = {"itself": card.pk, "other_column": elsewhere.pk, "other_project": foreign.pk, "missing": 10**12}
    before = Task.objects.get(pk=card.pk).rank

    response = client_for(team["member"]).post(f"/api/tasks/{card.pk}/move", {"after": ids[neighbour]}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["after"]
    assert Task.objects.get(pk=card.pk).rank == before
    assert not OutboxEvent.objects.filter(type="task.moved").exists()


@pytest.mark.parametrize("body", [{"status": "nope"}, {"after": "x"}, {"before": 0}, {"after": -1}])
def test_a_malformed_move_is_a_400_naming_the_field(team, client_for, body):
    (card,) = created(team, "Card")

    response = client_for(team["member"]).post(f"/api/tasks/{card.pk}/move", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == list(body)


def test_a_viewer_cannot_move_a_card_and_an_outsider_cannot_see_it(team, client_for):
    (card,) = created(team, "Card")
    rank = card.rank

    viewer = client_for(team["viewer"]).post(f"/api/tasks/{card.pk}/move", {"status": "done"}, format="json")
    outsider = client_for(team["outsider"]).post(f"/api/tasks/{card.pk}/move", {"status": "done"}, format="json")

    assert (viewer.status_code, viewer.json()["code"]) == (403, "insufficient_role")
    assert (outsider.status_code, outsider.json()) == (404, NOT_FOUND)
    card.refresh_from_db()
    assert (card.status, card.rank) == ("todo", rank)


def test_tied_ranks_are_rebalanced_and_the_move_still_lands_where_asked(
    team, client_for, django_capture_on_commit_callbacks
):
    # Rows written with the same rank (concurrent creates can tie; so does the default).
    tied = [TaskFactory(project=team["project"], title=f"T{n}", rank="a0") for n in range(3)]
    moved = TaskFactory(project=team["project"], title="Moved", rank="a5")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team["member"]).post(
            f"/api/tasks/{moved.pk}/move", {"after": tied[0].pk, "before": tied[1].pk}, format="json"
        )

    assert response.status_code == 200, response.content
    assert column(team["project"], "todo") == [tied[0].pk, moved.pk, tied[1].pk, tied[2].pk]
    ranks = list(Task.objects.filter(project=team["project"]).values_list("rank", flat=True))
    assert len(set(ranks)) == 4
    # Each card whose rank changed was announced, so open boards keep the same order.
    announced = {row.envelope["data"]["task"]["id"] for row in OutboxEvent.objects.filter(type="task.moved")}
    assert announced >= {tied[1].pk, tied[2].pk, moved.pk}
