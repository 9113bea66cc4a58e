"""Outbox ids come from the one OutboxHead row: gapless, in commit order, and recreated from the
largest id when the row is gone. Real commits (transaction=True)."""

import threading

import pytest
from django.db import connection, transaction
from notifications.models import OutboxEvent, OutboxHead

from tasks import services

pytestmark = pytest.mark.django_db(transaction=True)


def create(team, title: str):
    """One write, one event: a new task with nobody to notify is still a board event
    (task.created reaches every member's board)."""
    return services.task_create(actor=team["owner"], project=team["project"], title=title)


def ids() -> list[int]:
    return list(OutboxEvent.objects.order_by("id").values_list("id", flat=True))


def test_a_rolled_back_write_leaves_no_gap(team):
    create(team, "first")

    def create_then_fail() -> None:
        with transaction.atomic():
            create(team, "rolled back")
            raise RuntimeError("the request failed after its event was recorded")

    with pytest.raises(RuntimeError):
        create_then_fail()
    create(team, "second")
    first, second = ids()
    assert second == first + 1
    assert OutboxHead.objects.get().seq == second


def test_the_head_row_comes_back_from_the_largest_id_when_it_is_gone(team):
    create(team, "before")
    (before,) = ids()
    OutboxHead.objects.all().delete()
    create(team, "after")
    assert ids() == [before, before + 1]
    assert OutboxHead.objects.get().seq == before + 1


def test_a_writer_waiting_for_the_head_takes_the_id_after_the_one_committed_before_it(team):
    # given a transaction holding the head row (its event recorded, its commit not yet sent)
    holding, go_on = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                create(team, "slow")
                with connection.cursor() as cursor:  # take the head row now, as the COMMIT would
                    cursor.execute("UPDATE notifications_outboxhead SET seq = seq WHERE id = 1")
                holding.set()
                go_on.wait(10)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert holding.wait(10)
    # when another write commits meanwhile, it waits for the head, then gets the next id
    fast = threading.Thread(target=lambda: (create(team, "fast"), connection.close()))
    fast.start()
    fast.join(0.5)
    assert fast.is_alive(), "the second writer did not wait for the head row"
    go_on.set()
    thread.join(10)
    fast.join(10)
    assert "error" not in outcome, outcome
    rows = list(OutboxEvent.objects.order_by("id").values_list("id", "envelope__data__task__title"))
    assert [title for _, title in rows] == ["slow", "fast"]
    assert rows[1][0] == rows[0][0] + 1
