"""The outbox relay's pass (notifications.publisher.outbox_publish_pending): it walks the rows
after its watermark (xid, id) whose transactions are all over, delivers what is not done, and
moves the watermark past the done prefix only. Real commits on connections of their own."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from notifications import publisher
from notifications.models import OutboxEvent
from taskflow_contracts.redis_layout import outbox_done_key, user_delivery_keys

from accounts.models import User
from common.redis import redis_client
from tasks import services
from tests.django_core.factories import TaskFactory
from tests.django_core.notifications.helpers import (
    OpenTransaction,
    Writer,
    relay_passed,
    relay_until_passed,
    set_relay_watermark,
    stream_entries,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fast_path_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every process's fast path dies between COMMIT and publish."""
    monkeypatch.setattr(publisher, "publish_after_commit", lambda **kwargs: None)


def heard(user: User) -> list[str]:
    return [message["event"]["type"] for _, message in stream_entries(user)]


def test_the_relay_does_not_pass_a_row_of_a_transaction_still_open(team, fast_path_dead):
    # given a transaction that wrote its event and is still open (on one project), and a write
    # on another project that began later and committed meanwhile
    member, outsider = team["member"], team["outsider"]
    open_write = lambda: services.task_create(actor=team["owner"], project=team["project"], title="open")  # noqa: E731
    with OpenTransaction(open_write) as early:
        later = services.task_create(actor=outsider, project=team["other_project"], title="later")
        later_row = OutboxEvent.objects.get()

        # when the relay passes: it does not pass the committed row (a row of the open
        # transaction could still appear before it)
        publisher.outbox_publish_pending()
        assert not relay_passed(later_row)

        # when the open transaction commits
        early.commit()

    # then the relay delivers both, and passes both
    rows = list(OutboxEvent.objects.order_by("id"))
    relay_until_passed(rows)
    assert heard(member) == ["task.created"]
    assert heard(outsider) == ["task.created"]
    assert [message["event"]["data"]["task"]["id"] for _, message in stream_entries(outsider)] == [later.pk]


def test_a_row_held_for_a_predecessor_stops_the_watermark_until_it_is_forced(team, settings):
    # given a watcher who missed one event of the board (deactivated while it was written), so
    # the next one waits in Redis for a predecessor that will never reach them
    watcher = team["member"]
    task = TaskFactory(project=team["project"], reporter=team["owner"], title="Gap")
    services.task_update(task=task, actor=team["owner"], fields={"priority": "high"})
    User.objects.filter(pk=watcher.pk).update(is_active=False)
    services.task_update(task=task, actor=team["owner"], fields={"priority": "low"})
    User.objects.filter(pk=watcher.pk).update(is_active=True)
    services.task_update(task=task, actor=team["owner"], fields={"priority": "urgent"})
    services.task_update(task=task, actor=team["owner"], fields={"priority": "medium"})
    first, missed, held, after = OutboxEvent.objects.order_by("board_seq")
    assert heard(watcher) == ["task.updated"]

    # when the relay passes before OUTBOX_FORCE_AFTER: everything up to the held row is passed
    relay_until_passed([missed])
    publisher.outbox_publish_pending()
    assert not relay_passed(held)
    assert not relay_passed(after)
    assert heard(watcher) == ["task.updated"]

    # when the held row is older than OUTBOX_FORCE_AFTER: the relay delivers it regardless
    settings.OUTBOX_FORCE_AFTER = 0
    relay_until_passed([held, after])

    # and what waited behind it follows, in board order
    assert [message["event"]["id"] for _, message in stream_entries(watcher)] == [
        str(row.event_id) for row in (first, held, after)
    ]


def test_a_second_relay_waits_while_one_walks(team):
    services.task_create(actor=team["owner"], project=team["project"], title="one")
    row = OutboxEvent.objects.get()

    # given a relay's pass in progress (it holds the watermark row)
    def walking() -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM notifications_outboxwatermark WHERE id = 1 FOR UPDATE")

    set_relay_watermark()
    with OpenTransaction(walking) as first_relay:
        # when a second relay passes: it waits (a standby)
        second = Writer(lambda: relay_until_passed([row]))
        second.start()
        assert not second.finished_within(0.5), "the second relay did not wait for the first"

        # and walks once the first is done
        first_relay.commit()
        assert second.finished_within(30)
    assert relay_passed(row)


def test_the_relay_stops_at_the_first_row_still_in_its_grace_period(team):
    for title in ("old", "young", "old again"):
        services.task_create(actor=team["owner"], project=team["project"], title=title)
    old, young, old_again = OutboxEvent.objects.order_by("xid", "id")
    redis_client().delete(*[f"outbox:done:{row.event_id}" for row in (old, young, old_again)])
    minutes_ago = timezone.now() - timedelta(minutes=5)
    OutboxEvent.objects.filter(pk__in=[old.pk, old_again.pk]).update(created_at=minutes_ago)

    # when the relay passes with a grace period
    relay_until_passed([old], older_than=timedelta(seconds=30))
    publisher.outbox_publish_pending(older_than=timedelta(seconds=30))

    # then it moves past the first row only: what follows a young row waits with it
    assert not relay_passed(young)
    assert not relay_passed(old_again)


def test_the_relay_passes_a_delivered_row_once_it_settled_and_delivers_it_again_if_redis_lost_it(team, settings):
    # given a task created (the fast path delivers it and marks it done), and a relay whose
    # watermark waits until a row is half a second old
    settings.OUTBOX_SETTLE = 0.5
    member = team["member"]
    services.task_create(actor=team["owner"], project=team["project"], title="Kept")
    row = OutboxEvent.objects.get()
    assert heard(member) == ["task.created"]

    # when the relay passes at once: the row is done, but too young to be passed
    publisher.outbox_publish_pending()
    assert not relay_passed(row)

    # and Redis loses what it took (a Sentinel switch-over: the demoted primary's writes vanish)
    client = redis_client()
    for role in ("owner", "admin", "member", "viewer"):
        client.delete(*user_delivery_keys(team[role].pk))
    client.delete(outbox_done_key(str(row.event_id)))

    # then once the row has settled, the relay asks Redis again, delivers it again and passes it
    time.sleep(0.6)
    relay_until_passed([row])
    assert heard(member) == ["task.created"]
    assert client.exists(outbox_done_key(str(row.event_id)))


def test_the_relays_wait_while_a_dependency_is_down_doubles_up_to_its_cap(settings):
    from notifications.management.commands.outbox_relay import next_backoff

    settings.OUTBOX_RELAY_RETRY_MAX = 5.0
    waits = [0.5]
    for _ in range(6):
        waits.append(next_backoff(waits[-1]))
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    settings.OUTBOX_RELAY_RETRY_MAX = 1.5
    assert next_backoff(1.0) == 1.5
