"""The real bot process (`python -m taskflow_bot`) against a local server that speaks the Bot
API, a live django-core (pytest-django's live server on the test database), the real outbox
relay process, real Redis and PostgreSQL: linking, every command, status buttons, pushes in the
recipient's language, preferences, duplicates, a killed bot, 429s and 403s.

One bot, one fake Bot API and one relay serve the whole module (each test uses chats of its
own); the tests that kill or restart a bot start their own."""

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from notifications.models import NotificationPreference, OutboxEvent
from taskflow_contracts.logs import log_context

from accounts.models import User
from common.redis import redis_client
from projects.models import Membership, Role
from projects.services import invite_create
from tasks import services as task_services
from tasks.models import Comment, Task
from telegram.models import DeliveryStatus, TelegramBot, TelegramDelivery
from tests.django_core.factories import MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.django_core.notifications_faults.conftest import django_process_env
from tests.django_core.waiting import wait_until
from tests.telegram_bot.botapi import BOT_USERNAME, FakeBotApi
from tests.telegram_bot.support import BotProcess, start_bot

pytestmark = pytest.mark.django_db(transaction=True)

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"
_chats = iter(range(8_100_000_001, 8_199_999_999))
# A word in Cyrillic: the text is in Russian (the catalogs' exact wording is theirs to change).
RUSSIAN_WORD = re.compile("[\u0400-\u04ff]{4}")
# Words only Spanish has among the three languages (the bot's help, whatever its exact wording).
SPANISH_WORD = re.compile(r"\b(tus|tareas|proyectos|idioma|ayuda|cuenta|vincular|desvincular)\b", re.IGNORECASE)


def new_chat() -> int:
    return next(_chats)


@pytest.fixture(scope="module")
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def relay(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen[bytes]]:
    """The real outbox relay process on the test database: it hands events to the bot's stream."""
    log = (tmp_path_factory.mktemp("relay") / "relay.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "outbox_relay", "--interval", "0.05", "--grace", "0.5"],
        cwd=DJANGO_CORE,
        # The tests empty the database between them (TRUNCATE of every table, one lock after
        # another) while the relay polls: a relay query waiting on a lock gives up at once
        # instead of deadlocking with the TRUNCATE (which PostgreSQL would then cancel, leaving
        # the last test's rows to the next); the relay retries on its next poll.
        env=django_process_env(
            CELERY_BROKER_URL=settings.REDIS_URL, LOG_LEVEL="WARNING", PGOPTIONS="-c lock_timeout=200ms"
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    process.wait(15)
    log.close()


def _start(live_server: Any, bot_api: FakeBotApi, **extra_env: str) -> BotProcess:
    return start_bot(
        core_url=live_server.url,
        service_token=settings.TELEGRAM_SERVICE_TOKEN,
        redis_url=settings.REDIS_URL,
        api_base=bot_api.base_url,
        extra_env=extra_env or None,
    )


@pytest.fixture(scope="module")
def bot(live_server: Any, bot_api: FakeBotApi, relay: subprocess.Popen[bytes]) -> Iterator[BotProcess]:
    started = _start(live_server, bot_api)
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _bot_known(db: None) -> None:
    """What the bot reported at start-up (the database is emptied between these tests)."""
    TelegramBot.objects.update_or_create(pk=1, defaults={"username": BOT_USERNAME})


@pytest.fixture
def person(linked: Callable[[User], int]) -> Callable[..., tuple[User, int]]:
    """A user linked to a fresh chat, in `language`, with Telegram on for `telegram_for`."""

    def make(*, language: str = "en", telegram_for: tuple[str, ...] = (), name: str | None = None) -> tuple[User, int]:
        user = UserFactory(language=language, **({"name": name} if name else {}))
        chat = linked(user)
        for event_type in telegram_for:
            NotificationPreference.objects.create(
                user=user, event_type=event_type, web=True, email=False, telegram=True
            )
        if telegram_for:
            User.objects.filter(pk=user.pk).update(has_notification_preferences=True)
            user.refresh_from_db()
        return user, chat

    return make


def _texts(bot_api: FakeBotApi, chat: int) -> list[str]:
    return [message["text"] for message in bot_api.sent(chat)]


def _buttons(message: dict[str, Any]) -> list[dict[str, str]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


# --- Linking --------------------------------------------------------------------------------


def _link_token(client_for: Callable[[User], Any], user: User) -> str:
    response = client_for(user).post("/api/telegram/link")
    assert response.status_code == 201, response.content
    url = response.json()["url"]
    assert url.startswith(f"https://t.me/{BOT_USERNAME}?start=")
    return parse_qs(urlsplit(url).query)["start"][0]


def test_the_bot_reports_its_username_and_sets_localized_command_menus(live_server, bot_api, bot):
    TelegramBot.objects.all().delete()
    second = _start(live_server, bot_api)
    try:
        assert wait_until(lambda: TelegramBot.objects.filter(username=BOT_USERNAME).exists()), "the bot's username"
    finally:
        second.stop()
    english = {c["command"]: c["description"] for c in bot_api.commands("")}
    russian = {c["command"]: c["description"] for c in bot_api.commands("ru")}
    assert {"help", "mytasks", "projects", "language", "unlink"} <= set(english)
    assert set(russian) == set(english)
    assert russian["mytasks"] != english["mytasks"]
    assert RUSSIAN_WORD.search(russian["mytasks"])


def test_start_with_a_valid_link_links_the_chat_and_greets_by_name_in_the_users_language(client_for, bot_api, bot):
    user = UserFactory(name="Ольга <Admin>", language="ru")
    chat = new_chat()

    bot_api.push_command(chat, "start", _link_token(client_for, user), language_code="en")

    greeting = bot_api.wait_for_message(chat)
    assert "Ольга &lt;Admin&gt;" in greeting["text"]  # escaped: the text is HTML
    assert RUSSIAN_WORD.search(greeting["text"].replace("Ольга", ""))
    user.refresh_from_db()
    assert user.telegram_chat_id == chat
    assert client_for(user).get("/api/users/me").json()["telegram_linked"] is True


@pytest.mark.parametrize("case", ["used", "expired", "made_up"])
def test_a_link_that_links_nothing_gets_a_clear_answer(client_for, bot_api, bot, case):
    user = UserFactory()
    token = _link_token(client_for, user)
    if case == "used":
        first = new_chat()
        bot_api.push_command(first, "start", token)
        bot_api.wait_for_message(first)
    elif case == "expired":
        from telegram.models import TelegramLinkToken

        TelegramLinkToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        token = "madeUpToken_" + "x" * 20
    chat = new_chat()

    bot_api.push_command(chat, "start", token)

    answer = bot_api.wait_for_message(chat)["text"]
    expected = {"used": "used already", "expired": "expired", "made_up": "not valid"}[case]
    assert expected in answer
    assert "Link Telegram" in answer  # and how to get a new one
    assert not User.objects.filter(telegram_chat_id=chat).exists()


def test_start_in_a_group_links_nothing(client_for, bot_api, bot):
    user = UserFactory()
    group = -new_chat()

    bot_api.push_command(group, "start", _link_token(client_for, user), chat_type="group", from_id=new_chat())

    assert "private chat" in bot_api.wait_for_message(group)["text"]
    user.refresh_from_db()
    assert user.telegram_chat_id is None


def test_relinking_a_chat_to_another_account_moves_it(client_for, bot_api, bot):
    ada, bob = UserFactory(name="Ada"), UserFactory(name="Bob")
    chat = new_chat()
    bot_api.push_command(chat, "start", _link_token(client_for, ada))
    bot_api.wait_for_message(chat, lambda m: "Ada" in m["text"])

    bot_api.push_command(chat, "start", _link_token(client_for, bob))

    bot_api.wait_for_message(chat, lambda m: "Bob" in m["text"])
    ada.refresh_from_db()
    bob.refresh_from_db()
    assert (ada.telegram_chat_id, bob.telegram_chat_id) == (None, chat)


def test_an_unlinked_chat_is_told_how_to_link_and_free_text_gets_help(bot_api, bot, person):
    stranger = new_chat()
    bot_api.push_command(stranger, "mytasks")
    assert "Link Telegram" in bot_api.wait_for_message(stranger)["text"]

    _user, chat = person()
    bot_api.push_message(chat, "hello there")
    help_text = bot_api.wait_for_message(chat)["text"]
    assert "/mytasks" in help_text
    assert "/projects" in help_text


# --- Commands -------------------------------------------------------------------------------


def test_mytasks_lists_open_tasks_by_deadline_and_a_status_button_moves_the_task(bot_api, bot, person):
    user, chat = person()
    lead = UserFactory()  # the reporter, who hears of the change
    project = ProjectFactory(name="Launch")
    MembershipFactory(project=project, user=user, role=Role.MEMBER)
    MembershipFactory(project=project, user=lead, role=Role.OWNER)
    now = timezone.now()
    later = TaskFactory(
        project=project, assignee=user, reporter=lead, title="Write <b>docs</b>", deadline=now + timedelta(days=2)
    )
    soon = TaskFactory(
        project=project, assignee=user, reporter=lead, title="Fix login", deadline=now + timedelta(hours=5)
    )
    TaskFactory(project=project, assignee=user, title="Old news", status="done")

    bot_api.push_command(chat, "mytasks")

    listing = bot_api.wait_for_message(chat)
    text = listing["text"]
    assert text.index("Fix login") < text.index("Write")
    assert "Old news" not in text
    assert "Write &lt;b&gt;docs&lt;/b&gt;" in text  # the title is escaped
    data = [b.get("callback_data", "") for b in _buttons(listing)]
    move = next(d for d in data if d.startswith("mt:") and d.endswith(f":{soon.pk}:in_progress"))

    callback = bot_api.push_callback(chat, move, message_id=listing["message_id"])

    bot_api.wait_for_callback_answer(callback)
    assert wait_until(lambda: Task.objects.get(pk=soon.pk).status == "in_progress"), "the status change"
    event = OutboxEvent.objects.get(type="task.status_changed")
    assert event.envelope["actor"]["id"] == user.pk
    assert (event.envelope["data"]["from"], event.envelope["data"]["to"]) == ("todo", "in_progress")
    edited = bot_api.wait_for_call("editMessageText", lambda c: c.params.get("message_id") == listing["message_id"])
    assert "Fix login" in edited.params["text"]
    assert later.pk  # still listed on the edited message
    assert "Write" in edited.params["text"]


def test_a_viewer_pressing_a_status_button_is_refused_and_nothing_changes(bot_api, bot, person):
    viewer, chat = person()
    owner = UserFactory()
    project = ProjectFactory()
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    MembershipFactory(project=project, user=viewer, role=Role.MEMBER)
    task = TaskFactory(project=project, assignee=viewer, reporter=owner, title="Read only soon")
    bot_api.push_command(chat, "mytasks")
    listing = bot_api.wait_for_message(chat)
    move = next(b["callback_data"] for b in _buttons(listing) if b.get("callback_data", "").endswith(":done"))
    Membership.objects.filter(project=project, user=viewer).update(role=Role.VIEWER)

    callback = bot_api.push_callback(chat, move, message_id=listing["message_id"])

    answer = bot_api.wait_for_callback_answer(callback)
    assert answer.get("text")
    task.refresh_from_db()
    assert task.status == "todo"
    assert not OutboxEvent.objects.filter(type="task.status_changed").exists()


def test_projects_lists_mine_with_roles(bot_api, bot, person):
    user, chat = person()
    project = ProjectFactory(name="Apollo & Co")
    MembershipFactory(project=project, user=user, role=Role.ADMIN)
    TaskFactory(project=project)

    bot_api.push_command(chat, "projects")

    text = bot_api.wait_for_message(chat)["text"]
    assert "Apollo &amp; Co" in text
    assert "Admin" in text


def test_language_switches_the_accounts_language_and_the_bot_answers_in_it(bot_api, bot, person):
    user, chat = person()
    bot_api.push_command(chat, "language")
    menu = bot_api.wait_for_message(chat)
    russian = next(b["callback_data"] for b in _buttons(menu) if b.get("callback_data") == "lg:ru")

    bot_api.push_callback(chat, russian, message_id=menu["message_id"])

    assert wait_until(lambda: User.objects.get(pk=user.pk).language == "ru"), "the language change"
    count = len(bot_api.sent(chat))
    bot_api.push_command(chat, "help")
    assert RUSSIAN_WORD.search(bot_api.wait_for_message(chat, after=count)["text"])


def test_unlink_ends_the_link(bot_api, bot, person):
    user, chat = person()

    bot_api.push_command(chat, "unlink")

    bot_api.wait_for_message(chat)
    assert wait_until(lambda: User.objects.get(pk=user.pk).telegram_chat_id is None), "the unlink"


# --- Pushes ---------------------------------------------------------------------------------


def _assign(task: Task, actor: User, assignee: User) -> None:
    task_services.task_update(task=task, actor=actor, fields={"assignee": assignee})


@pytest.fixture
def project_of(person):
    def make(assignee_language: str = "en", **kwargs: Any) -> dict[str, Any]:
        owner = UserFactory(name="Olga")
        assignee, chat = person(language=assignee_language, telegram_for=("task.assigned", "task.commented"), **kwargs)
        project = ProjectFactory(name="Orbit")
        MembershipFactory(project=project, user=owner, role=Role.OWNER)
        MembershipFactory(project=project, user=assignee, role=Role.MEMBER)
        task = TaskFactory(project=project, reporter=owner, title="Fuel <the> rocket")
        return {"owner": owner, "assignee": assignee, "chat": chat, "project": project, "task": task}

    return make


def test_an_assignment_is_pushed_in_russian_with_buttons_and_a_reply_becomes_a_comment(bot_api, bot, project_of):
    team = project_of("ru")

    _assign(team["task"], team["owner"], team["assignee"])

    push = bot_api.wait_for_message(team["chat"])
    assert "Olga назначает вам задачу «Fuel &lt;the&gt; rocket»." in push["text"]
    data = [b.get("callback_data") for b in _buttons(push)]
    assert f"ts:{team['task'].pk}:in_progress" in data
    assert f"cm:{team['task'].pk}" in data
    delivery = TelegramDelivery.objects.get(user=team["assignee"])
    assert wait_until(lambda: TelegramDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT), "sent"

    # a reply to the push is a comment on the task, by the linked user
    bot_api.push_message(team["chat"], "On my way", reply_to=push["message_id"])
    assert wait_until(lambda: Comment.objects.filter(task=team["task"], body="On my way").exists()), "the comment"
    assert Comment.objects.get(task=team["task"]).author == team["assignee"]


def test_an_assignment_is_pushed_in_spanish_and_the_bot_answers_in_spanish(bot_api, bot, project_of):
    team = project_of("es")

    _assign(team["task"], team["owner"], team["assignee"])

    push = bot_api.wait_for_message(team["chat"])
    assert "Olga te ha asignado «Fuel &lt;the&gt; rocket»." in push["text"]
    labels = [b["text"] for b in _buttons(push)]
    assert "En curso" in labels
    assert "Comentar" in labels
    count = len(bot_api.sent(team["chat"]))
    bot_api.push_command(team["chat"], "help", language_code="en")  # the account's language wins
    answer = bot_api.wait_for_message(team["chat"], after=count)["text"]
    assert "/mytasks" in answer
    assert SPANISH_WORD.search(answer)


def test_a_status_button_on_a_push_moves_the_task_and_updates_the_message(bot_api, bot, project_of):
    team = project_of()
    _assign(team["task"], team["owner"], team["assignee"])
    push = bot_api.wait_for_message(team["chat"])

    callback = bot_api.push_callback(team["chat"], f"ts:{team['task'].pk}:review", message_id=push["message_id"])

    bot_api.wait_for_callback_answer(callback)
    assert wait_until(lambda: Task.objects.get(pk=team["task"].pk).status == "review"), "the status change"
    assert OutboxEvent.objects.filter(type="task.status_changed").exists()

    # and the push shows the new state: its buttons no longer offer "review"
    def edited() -> bool:
        message = bot_api.message(push["message_id"]) or {}
        data = [b.get("callback_data") for b in _buttons(message)]
        return bool(data) and f"ts:{team['task'].pk}:review" not in data

    assert wait_until(edited), bot_api.message(push["message_id"])


def test_the_comment_button_asks_for_the_text_and_posts_it(bot_api, bot, project_of):
    team = project_of()
    _assign(team["task"], team["owner"], team["assignee"])
    push = bot_api.wait_for_message(team["chat"])
    count = len(bot_api.sent(team["chat"]))

    bot_api.push_callback(team["chat"], f"cm:{team['task'].pk}", message_id=push["message_id"])
    bot_api.wait_for_message(team["chat"], after=count)
    bot_api.push_message(team["chat"], "Typed in the flow")

    assert wait_until(lambda: Comment.objects.filter(task=team["task"], body="Typed in the flow").exists()), "comment"


def test_an_invite_push_can_be_accepted_from_telegram(bot_api, bot, person):
    owner = UserFactory(name="Olga")
    invitee, chat = person(telegram_for=("project.invited",))
    project = ProjectFactory(name="Nebula")
    MembershipFactory(project=project, user=owner, role=Role.OWNER)

    invite_create(project=project, actor=owner, email=invitee.email, role=Role.MEMBER)

    push = bot_api.wait_for_message(chat)
    assert "Nebula" in push["text"]
    accept = next(b["callback_data"] for b in _buttons(push) if b.get("callback_data", "").startswith("iv:a:"))
    bot_api.push_callback(chat, accept, message_id=push["message_id"])
    assert wait_until(lambda: Membership.objects.filter(project=project, user=invitee).exists()), "the membership"


def test_telegram_turned_off_sends_nothing(bot_api, bot, project_of):
    team = project_of()
    NotificationPreference.objects.filter(user=team["assignee"]).update(telegram=False)
    other = project_of()  # a second assignment, still on: when it arrives the first would have too

    _assign(team["task"], team["owner"], team["assignee"])
    _assign(other["task"], other["owner"], other["assignee"])

    bot_api.wait_for_message(other["chat"])
    assert wait_until(lambda: not TelegramDelivery.objects.filter(status="queued").exists()), "the queue drained"
    assert bot_api.sent(team["chat"]) == []


def test_a_duplicate_stream_entry_gives_one_message(bot_api, bot, project_of):
    team = project_of()
    _assign(team["task"], team["owner"], team["assignee"])
    bot_api.wait_for_message(team["chat"])
    delivery = TelegramDelivery.objects.get(user=team["assignee"])
    marker = project_of()

    # the same delivery on the stream twice more (a relay retry, a sweep)
    for _ in range(2):
        redis_client().xadd(settings.TELEGRAM_STREAM, {"d": delivery.pk, "c": team["chat"]})
    _assign(marker["task"], marker["owner"], marker["assignee"])

    bot_api.wait_for_message(marker["chat"])
    assert len(bot_api.sent(team["chat"])) == 1


def test_a_429_is_waited_out_and_the_message_still_arrives(bot_api, bot, project_of):
    team = project_of()
    bot_api.fail_next("sendMessage", chat_id=team["chat"], status=429, retry_after=1)

    _assign(team["task"], team["owner"], team["assignee"])

    bot_api.wait_for_message(team["chat"], timeout=15)
    attempts = [c for c in bot_api.calls("sendMessage") if c.params.get("chat_id") == team["chat"]]
    assert [c.ok for c in attempts] == [False, True]
    assert attempts[1].at - attempts[0].at >= 0.9  # retry_after honoured
    assert wait_until(lambda: TelegramDelivery.objects.get(user=team["assignee"]).status == "sent"), "sent"


def _bot_metrics(bot: BotProcess) -> dict[str, float]:
    text = bot.http.get(bot.health_url.removesuffix("/health") + "/metrics", timeout=5).text
    return {
        name: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    }


def _settled_bot_metrics(bot: BotProcess, timeout: float = 15.0) -> dict[str, float]:
    """The bot's metrics once they stay the same for a second."""
    deadline = time.monotonic() + timeout
    last = _bot_metrics(bot)
    while True:
        time.sleep(1.0)
        now = _bot_metrics(bot)
        if {k: v for k, v in now.items() if "stream" not in k} == {k: v for k, v in last.items() if "stream" not in k}:
            return now
        assert time.monotonic() < deadline, "the bot's counters kept moving"
        last = now


def test_the_request_id_reaches_the_bots_lines_and_sends_and_429s_are_counted(bot_api, bot, project_of):
    team = project_of()
    # (the bot idle: no push of an earlier test still under way moves the counters meanwhile)
    before = _settled_bot_metrics(bot)
    bot_api.fail_next("sendMessage", chat_id=team["chat"], status=429, retry_after=1)

    # a write made for a request (its id in the log context, as the request middleware sets it)
    with log_context(request_id="req-bot-trace-1"):
        _assign(team["task"], team["owner"], team["assignee"])

    bot_api.wait_for_message(team["chat"], timeout=15)
    # reported sent: counted before the report
    assert wait_until(lambda: TelegramDelivery.objects.get(user=team["assignee"]).status == "sent")
    assert wait_until(lambda: "req-bot-trace-1" in bot.log()), bot.log_tail()
    sent_line = next(line for line in bot.log().splitlines() if "req-bot-trace-1" in line and " sent to chat " in line)
    assert f"chat {team['chat']}" in sent_line
    after = _bot_metrics(bot)
    assert after["taskflow_bot_messages_sent_total"] - before["taskflow_bot_messages_sent_total"] == 1
    assert after["taskflow_bot_telegram_429_total"] - before["taskflow_bot_telegram_429_total"] == 1


def test_a_403_unlinks_the_chat_and_stops_retrying(bot_api, bot, project_of):
    team = project_of()
    bot_api.block_chat(team["chat"])

    _assign(team["task"], team["owner"], team["assignee"])

    assert wait_until(lambda: User.objects.get(pk=team["assignee"].pk).telegram_chat_id is None), "the unlink"
    delivery = TelegramDelivery.objects.get(user=team["assignee"])
    assert delivery.status == DeliveryStatus.BLOCKED
    time.sleep(0.5)
    assert len([c for c in bot_api.calls("sendMessage") if c.params.get("chat_id") == team["chat"]]) == 1


def test_a_killed_bots_entries_are_redelivered_by_another(live_server, bot_api, bot, relay, project_of, settings):
    # given a bot that claimed the delivery and died while Telegram had not answered its send
    settings.TELEGRAM_CLAIM_LEASE = 2
    bot.stop()  # the module's bot stays out of the way
    team = project_of()
    bot_api.hold_chat(team["chat"])
    doomed = _start(live_server, bot_api)
    try:
        _assign(team["task"], team["owner"], team["assignee"])
        bot_api.wait_for_call("sendMessage", lambda c: c.params.get("chat_id") == team["chat"], timeout=15)
    finally:
        doomed.kill()
    bot_api.release_chat(team["chat"])
    assert redis_client().xpending(settings.TELEGRAM_STREAM, "bot")["pending"] == 1
    assert TelegramDelivery.objects.get(user=team["assignee"]).status == DeliveryStatus.SENDING

    # when another bot runs, it takes the entry over once the claim lapsed and sends it once
    bot.start()
    bot_api.wait_for_message(team["chat"], timeout=20)
    assert wait_until(lambda: TelegramDelivery.objects.get(user=team["assignee"]).status == "sent"), "sent"
    assert wait_until(lambda: redis_client().xpending(settings.TELEGRAM_STREAM, "bot")["pending"] == 0), "acked"
    assert len(bot_api.sent(team["chat"])) == 1
