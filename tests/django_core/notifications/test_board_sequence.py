"""Board numbers (notifications.models.BoardSequence): writers on one project take consecutive
numbers in commit order, writers on different projects never wait for each other, and a write
that waited for a membership change delivers to the board as that change left it. Real commits
on connections of their own (threads)."""

from collections.abc import Callable

import pytest
from django.db import connection, transaction
from notifications.models import OutboxEvent

from accounts.models import User
from projects import services as project_services
from projects.models import Membership, Role
from tasks import services
from tests.django_core.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.django_core.notifications.helpers import OpenTransaction, Writer

pytestmark = pytest.mark.django_db(transaction=True)

# How long a writer that must not wait gets; one that must wait is checked after as long.
PROMPTLY = 2.0


def create(team, title: str, project=None):
    """One write, one board event: a new task (task.created reaches every member's board)."""
    return services.task_create(actor=team["owner"], project=project or team["project"], title=title)


def numbered() -> list[tuple[str, int | None, int | None]]:
    """(task title, project, board number) of every task.created row, in board number order."""
    rows = OutboxEvent.objects.filter(type="task.created").order_by("board_project", "board_seq")
    return [(row.envelope["data"]["task"]["title"], row.board_project, row.board_seq) for row in rows]


def write_waiting_for(open_write: Callable[[], object], write: Callable[[], object]) -> None:
    """`write` starts while the transaction of `open_write` is still open (after its event): it
    waits for that transaction, and finishes once it commits."""
    with OpenTransaction(open_write) as first:
        second = Writer(write)
        second.start()
        assert not second.finished_within(0.5), "the second writer did not wait for the board's number"
        first.commit()
        assert second.finished_within(10)


def test_a_rolled_back_write_gives_its_board_number_back(team):
    create(team, "first")

    def create_then_fail() -> None:
        with transaction.atomic():
            create(team, "rolled back")
            raise RuntimeError("the request failed after its event was recorded")

    with pytest.raises(RuntimeError):
        create_then_fail()
    create(team, "second")

    project = team["project"].pk
    assert numbered() == [("first", project, 1), ("second", project, 2)]


def test_writers_on_one_project_take_consecutive_numbers_in_commit_order(team):
    # given a transaction that wrote an event of the board and has not committed yet, when
    # another write on the same project starts meanwhile, it waits for the first
    write_waiting_for(lambda: create(team, "slow"), lambda: create(team, "fast"))

    # and takes the next number once the first commits
    project = team["project"].pk
    assert numbered() == [("slow", project, 1), ("fast", project, 2)]


def test_writers_on_different_projects_never_wait_for_each_other(team):
    other_project = team["other_project"]
    other_owner = team["outsider"]

    # given a transaction on one project that wrote its event and stays open
    with OpenTransaction(lambda: create(team, "open")) as open_writer:
        # when someone writes on another project, their write commits at once
        other = Writer(lambda: services.task_create(actor=other_owner, project=other_project, title="elsewhere"))
        other.start()
        assert other.finished_within(PROMPTLY), "a write on another project waited for an open transaction"
        assert OutboxEvent.objects.filter(board_project=other_project.pk).count() == 1
        open_writer.commit()

    assert sorted(numbered()) == sorted([("open", team["project"].pk, 1), ("elsewhere", other_project.pk, 1)])


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_superuser("root@example.com", "root-password-1", name="Root")


def delivered_to(title: str) -> list[int]:
    row = OutboxEvent.objects.get(type="task.created", envelope__data__task__title=title)
    return [delivery["user_id"] for delivery in row.deliveries]


def test_a_write_that_waited_for_a_joiner_delivers_to_the_joiner(team, staff):
    joiner = UserFactory(name="Joiner")

    # given someone joining the project, their transaction not committed yet, when a task is
    # created meanwhile: it waits for the joining, then is numbered after it
    write_waiting_for(
        lambda: project_services.membership_add(
            project=team["project"], actor=staff, user=joiner, role=Role.MEMBER, staff=True
        ),
        lambda: create(team, "after the join"),
    )

    # then its deliveries are the board as the joining left it: the joiner hears of the task
    # (numbered after their baseline; missing it, their board would wait for it)
    assert joiner.pk in delivered_to("after the join")
    joined = OutboxEvent.objects.get(type="project.member_joined")
    assert [d for d in joined.deliveries if d["user_id"] == joiner.pk] == [
        {"user_id": joiner.pk, "notification": None, "baseline": True}
    ]
    assert joined.board_seq + 1 == OutboxEvent.objects.get(type="task.created").board_seq


def test_a_write_that_waited_for_a_removal_no_longer_delivers_to_the_removed(team):
    leaving = MembershipFactory(project=ProjectFactory(), user=UserFactory()).user  # (another board's member)
    MembershipFactory(project=team["project"], user=leaving, role=Role.MEMBER)
    membership = Membership.objects.get(project=team["project"], user=leaving)

    # given a member being removed, the removal not committed yet, when a task is created
    write_waiting_for(
        lambda: project_services.membership_remove(project=team["project"], actor=team["owner"], member=membership),
        lambda: create(team, "after the removal"),
    )

    # then the task's deliveries leave the removed member out; the removal told them, with a reset
    assert leaving.pk not in delivered_to("after the removal")
    removed = OutboxEvent.objects.get(type="project.member_removed")
    assert {"user_id": leaving.pk, "reset": True}.items() <= next(
        d for d in removed.deliveries if d["user_id"] == leaving.pk
    ).items()


def test_the_write_path_and_the_relay_leave_no_session_state(team, settings):
    # Behind PgBouncer in transaction mode a connection is anyone's after each transaction:
    # nothing may be prepared on it, set for the session, or locked across transactions. (Django
    # sets TimeZone when it connects, when the server's differs: PgBouncer tracks that parameter
    # per client and sets it on whichever server connection the client gets.)
    from notifications.publisher import outbox_publish_pending

    assert settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] is None
    for number in range(8):  # past psycopg's default prepare threshold (5)
        create(team, f"task {number}")
    outbox_publish_pending()

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        assert cursor.fetchall() == []
        cursor.execute("SELECT name FROM pg_settings WHERE source = 'session' AND name <> 'TimeZone'")
        assert cursor.fetchall() == []
        cursor.execute("SELECT locktype FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'")
        assert cursor.fetchall() == []
