"""Pushes: the relay's hand-off (deliveries + stream entries, in one transaction with the row's
mark), claims (rendered per recipient as they are now; duplicates and lapsed claims), outcomes
(sent, blocked → unlinked, failed → retried then parked), the sweep and the outbox's pruning."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from notifications.models import NotificationPreference, OutboxEvent
from notifications.publisher import outbox_prune
from redis.exceptions import RedisError

from common.redis import redis_client
from tasks import services as task_services
from telegram import dispatch
from telegram.dispatch import telegram_deliveries_sweep, telegram_dispatch_pending
from telegram.models import DeliveryStatus, TelegramDelivery
from telegram.services import telegram_deliveries_claim, telegram_deliveries_retry, telegram_delivery_result
from tests.django_core.factories import MembershipFactory, TaskFactory, UserFactory
from tests.django_core.notifications.helpers import set_relay_watermark

pytestmark = pytest.mark.django_db


def _telegram_on(user, *types: str) -> None:
    for event_type in types:
        NotificationPreference.objects.update_or_create(
            user=user, event_type=event_type, defaults={"web": True, "email": False, "telegram": True}
        )
    user.has_notification_preferences = True
    user.save(update_fields=["has_notification_preferences"])


def _stream() -> list[dict[str, str]]:
    return [
        {k.decode(): v.decode() for k, v in fields.items()}
        for _id, fields in redis_client().xrange(settings.TELEGRAM_STREAM)
    ]


@pytest.fixture(autouse=True)
def _empty_stream():
    redis_client().delete(settings.TELEGRAM_STREAM)


@pytest.fixture
def assigned(team, linked, django_capture_on_commit_callbacks):
    """The member, linked and with Telegram on for assignments, is assigned a task."""
    member = team["member"]
    chat = linked(member)
    _telegram_on(member, "task.assigned", "task.status_changed")
    task = TaskFactory(project=team["project"], reporter=team["owner"], title='Ship <it> & "tell"')
    with django_capture_on_commit_callbacks(execute=True):
        task_services.task_update(task=task, actor=team["owner"], fields={"assignee": member})
    return {"task": task, "member": member, "chat": chat, **team}


def test_an_event_with_telegram_recipients_becomes_deliveries_on_the_stream(assigned):
    row = OutboxEvent.objects.get(type="task.assigned")
    assert row.recipients["telegram"] == [assigned["member"].pk]
    assert row.needs_telegram
    assert row.telegram_dispatched_at is None

    assert telegram_dispatch_pending() == 1

    delivery = TelegramDelivery.objects.get()
    assert (delivery.user, delivery.chat_id, delivery.event_id) == (assigned["member"], assigned["chat"], row.event_id)
    assert delivery.status == DeliveryStatus.QUEUED
    assert _stream() == [{"d": str(delivery.pk), "c": str(assigned["chat"])}]
    row.refresh_from_db()
    assert row.telegram_dispatched_at is not None
    assert telegram_dispatch_pending() == 0  # handed over once


def test_nobody_with_telegram_off_or_unlinked_gets_a_delivery(team, linked, django_capture_on_commit_callbacks):
    # given a linked member with the default preferences (Telegram off) and an unlinked one with it on
    linked(team["member"])
    _telegram_on(team["admin"], "task.assigned")
    task = TaskFactory(project=team["project"], reporter=team["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["member"]})
        task_services.task_update(task=task, actor=team["owner"], fields={"assignee": team["admin"]})

    assert telegram_dispatch_pending() == 0
    assert not TelegramDelivery.objects.exists()


def test_with_redis_down_the_deliveries_wait_off_the_stream_until_it_is_back(assigned, monkeypatch):
    def refuse(deliveries):
        list(deliveries)
        raise RedisError("down")

    monkeypatch.setattr(dispatch, "stream_add", refuse)
    with pytest.raises(RedisError):
        telegram_dispatch_pending()

    # the hand-off is committed (the row is not taken twice), the entry is not on the stream yet
    delivery = TelegramDelivery.objects.get()
    assert delivery.queued_at is None
    assert OutboxEvent.objects.get(type="task.assigned").telegram_dispatched_at is not None
    assert _stream() == []
    monkeypatch.undo()

    assert telegram_dispatch_pending() == 0  # no new row, but the waiting delivery goes out
    assert _stream() == [{"d": str(delivery.pk), "c": str(assigned["chat"])}]
    delivery.refresh_from_db()
    assert delivery.queued_at is not None


@pytest.mark.django_db(transaction=True)
def test_an_entry_goes_on_the_stream_only_after_its_delivery_is_committed(assigned, monkeypatch):
    seen: list[bool] = []

    def check(deliveries):
        # what a bot reading the entry right now would find (another connection)
        from django.db import connections

        rows = list(deliveries)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM telegram_telegramdelivery WHERE id = ANY(%s)", [[d.pk for d in rows]]
                )
                seen.append(cursor.fetchone()[0] == len(rows))
        finally:
            other.close()
        return original(rows)

    original = dispatch.stream_add
    monkeypatch.setattr(dispatch, "stream_add", check)

    telegram_dispatch_pending()

    assert seen == [True]


def test_a_claim_renders_the_push_in_the_recipients_language_and_escapes_user_text(assigned):
    member = assigned["member"]
    member.language, member.timezone = "ru", "Europe/Moscow"
    member.save(update_fields=["language", "timezone"])
    task = assigned["task"]
    task.deadline = timezone.now().replace(month=12, day=24, hour=9, minute=0, second=0, microsecond=0)
    task.save(update_fields=["deadline"])
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()

    [claimed] = telegram_deliveries_claim(ids=[delivery.pk])

    assert claimed.status == "ready"
    assert claimed.chat_id == assigned["chat"]
    owner = assigned["owner"].name
    assert claimed.text.startswith(f'<b>{owner} назначает вам задачу «Ship &lt;it&gt; &amp; "tell"».</b>')
    assert "<it>" not in claimed.text
    assert "12:00" in claimed.text  # 09:00 UTC in Moscow
    labels = [button["text"] for row in claimed.buttons for button in row]
    assert "В работе" in labels  # noqa: RUF001
    callbacks = [button.get("callback_data") for row in claimed.buttons for button in row]
    assert f"ts:{task.pk}:in_progress" in callbacks
    assert f"cm:{task.pk}" in callbacks
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING


def test_a_duplicate_entry_is_skipped_while_claimed_and_after_it_was_sent(assigned):
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()

    first, second = telegram_deliveries_claim(ids=[delivery.pk, delivery.pk])

    assert (first.status, second.status, second.reason) == ("ready", "skip", "in_progress")
    assert telegram_delivery_result(delivery_id=delivery.pk, outcome="sent", message_id=77).status == "sent"
    [again] = telegram_deliveries_claim(ids=[delivery.pk])
    assert (again.status, again.reason) == ("skip", "done")
    # a second report changes nothing
    assert telegram_delivery_result(delivery_id=delivery.pk, outcome="failed", error="x").status == "sent"


def test_a_claim_costs_the_same_queries_for_one_delivery_or_many(
    team, linked, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # given 12 linked members with Telegram on, each assigned a task of their own
    members = []
    for _ in range(12):
        member = UserFactory()
        MembershipFactory(project=team["project"], user=member, role="member")
        linked(member)
        _telegram_on(member, "task.assigned")
        members.append(member)
    with django_capture_on_commit_callbacks(execute=True):
        for member in members:
            task = TaskFactory(project=team["project"], reporter=team["owner"])
            task_services.task_update(task=task, actor=team["owner"], fields={"assignee": member})
    telegram_dispatch_pending()
    ids = list(TelegramDelivery.objects.values_list("pk", flat=True))

    # then claiming all of them takes a handful of queries, not a few per delivery
    with django_assert_max_num_queries(8):
        claimed = telegram_deliveries_claim(ids=ids)

    assert [c.status for c in claimed] == ["ready"] * 12
    assert len({c.text for c in claimed}) == 12


def test_a_lapsed_claim_can_be_taken_over(assigned):
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()
    telegram_deliveries_claim(ids=[delivery.pk])
    TelegramDelivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))

    [claimed] = telegram_deliveries_claim(ids=[delivery.pk])

    assert claimed.status == "ready"


@pytest.mark.parametrize("change", ["unlinked", "telegram_off", "inactive"])
def test_a_recipient_who_changed_their_mind_since_is_skipped(assigned, change):
    telegram_dispatch_pending()
    member = assigned["member"]
    if change == "unlinked":
        member.telegram_chat_id = None
    elif change == "telegram_off":
        NotificationPreference.objects.filter(user=member, event_type="task.assigned").update(telegram=False)
    else:
        member.is_active = False
    member.save()

    [claimed] = telegram_deliveries_claim(ids=[TelegramDelivery.objects.get().pk])

    assert (claimed.status, claimed.reason) == ("skip", change)
    assert TelegramDelivery.objects.get().status == DeliveryStatus.SKIPPED


def test_unknown_ids_are_answered_as_unknown(db):
    assert telegram_deliveries_claim(ids=[987654321])[0].as_json() == {
        "id": 987654321,
        "status": "skip",
        "reason": "unknown",
    }


def test_blocked_unlinks_the_chat(assigned):
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()
    telegram_deliveries_claim(ids=[delivery.pk])

    outcome = telegram_delivery_result(delivery_id=delivery.pk, outcome="blocked")

    assert (outcome.status, outcome.retry) == ("blocked", False)
    assigned["member"].refresh_from_db()
    assert assigned["member"].telegram_chat_id is None


def test_failures_are_retried_then_parked_and_the_admin_action_sends_them_again(assigned, settings):
    settings.TELEGRAM_MAX_ATTEMPTS = 3
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()
    telegram_deliveries_claim(ids=[delivery.pk])

    answers = [
        telegram_delivery_result(delivery_id=delivery.pk, outcome="failed", error="Bad Gateway") for _ in range(3)
    ]

    assert [a.retry for a in answers] == [True, True, False]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "Bad Gateway")
    redis_client().delete(settings.TELEGRAM_STREAM)

    assert telegram_deliveries_retry(deliveries=TelegramDelivery.objects.all()) == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("queued", 0)
    assert _stream() == [{"d": str(delivery.pk), "c": str(assigned["chat"])}]


def test_the_sweep_requeues_what_stays_pending_and_parks_what_is_too_old(assigned, settings):
    telegram_dispatch_pending()
    delivery = TelegramDelivery.objects.get()
    redis_client().delete(settings.TELEGRAM_STREAM)  # the stream was lost
    TelegramDelivery.objects.update(queued_at=timezone.now() - settings.TELEGRAM_REQUEUE_AFTER - timedelta(seconds=1))

    assert telegram_deliveries_sweep()["requeued"] == 1
    assert _stream() == [{"d": str(delivery.pk), "c": str(assigned["chat"])}]
    assert telegram_deliveries_sweep()["requeued"] == 0  # queued again just now

    TelegramDelivery.objects.update(
        created_at=timezone.now() - settings.TELEGRAM_DELIVERY_MAX_AGE - timedelta(seconds=1)
    )
    assert telegram_deliveries_sweep()["expired"] == 1
    assert TelegramDelivery.objects.get().status == DeliveryStatus.EXPIRED


def test_pruning_never_drops_an_event_not_yet_handed_to_the_bot(assigned, settings):
    row = OutboxEvent.objects.get(type="task.assigned")
    # given an old, published row whose mail went out but whose Telegram hand-off has not happened
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(days=30), channels_dispatched_at=timezone.now())
    set_relay_watermark(through=OutboxEvent.objects.order_by("xid", "id").last())

    outbox_prune(older_than=timedelta(days=7))
    assert OutboxEvent.objects.filter(pk=row.pk).exists()

    telegram_dispatch_pending()
    outbox_prune(older_than=timedelta(days=7))

    # the row is gone, its delivery keeps its own copy of the event and can still be rendered
    assert not OutboxEvent.objects.filter(pk=row.pk).exists()
    [claimed] = telegram_deliveries_claim(ids=[TelegramDelivery.objects.get().pk])
    assert claimed.status == "ready"


def test_the_request_id_of_the_write_goes_with_the_delivery_onto_the_stream(team, linked, client_for):
    # given a member linked to Telegram, with Telegram on for assignments
    member = team["member"]
    chat = linked(member)
    _telegram_on(member, "task.assigned")
    task = TaskFactory(project=team["project"], reporter=team["owner"])

    # when the owner assigns them the task through the API, with the gateway's request id
    response = client_for(team["owner"]).patch(
        f"/api/tasks/{task.pk}", {"assignee": member.pk}, format="json", HTTP_X_REQUEST_ID="gw-telegram-1"
    )
    assert response.status_code == 200, response.content
    assert telegram_dispatch_pending() == 1

    # then the delivery and its stream entry carry it (for the bot's log lines), not the message
    delivery = TelegramDelivery.objects.get()
    assert delivery.request_id == "gw-telegram-1"
    assert "gw-telegram-1" not in str(delivery.envelope)
    assert _stream() == [{"d": str(delivery.pk), "c": str(chat), "r": "gw-telegram-1"}]
