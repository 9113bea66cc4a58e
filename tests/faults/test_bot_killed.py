"""The Telegram bot SIGKILLed mid-batch: every delivery still becomes exactly one message.

Real processes throughout: django-core under gunicorn on a PostgreSQL database of this module's
own, a redis-server of its own, the bot (`python -m taskflow_bot`) against the fake Bot API
(tests/telegram_bot/botapi.py). The batch is made the way production makes it: tasks assigned
through `task_create` (outbox rows with Telegram recipients), then django-core's producer,
`telegram_dispatch_pending`, creates the deliveries and puts one entry each on the stream.

The kill lands where it hurts most. A batch of CHATS x PER_CHAT deliveries (chats interleaved)
is read and claimed at once; then:

- Telegram answers the first send of each chat and holds every later one (no answer): each
  chat's sender waits on Telegram, the rest of its backlog claimed and queued behind it;
- Redis stops taking writes (`CLIENT PAUSE WRITE`) and one chat's held send is answered: it is
  reported `sent` to django-core, but its XACK never lands;
- the bot is SIGKILLed once everything answered is reported (so nothing is in the window between
  Telegram's answer and the report: the one duplicate no at-least-once sender closes), and Redis
  drops the dead bot's connections before it takes writes again.

A held request whose answer never came is, for the fake server, a request Telegram never
received: it is not a message. Real Telegram may have received it and lost only the answer;
then the send below shows the user that message twice, and the bot cannot know (the Bot API has
no idempotency key). docs/telegram.md, "A bot killed mid-batch", says so.

Then the bot starts again under the same consumer name, as a restarted container does (the
other case, a bot of another name taking over, is tests/django_core/telegram/
test_bot_process.py's killed-bot test; both names against real Redis are in
tests/telegram_bot/test_push_consumer.py). XREADGROUP ">" never hands a consumer its own
pending entries back: the bot takes them over with XAUTOCLAIM once idle for TELEGRAM_CLAIM_IDLE,
and django-core's delivery row decides each: `done` for the sent-but-unacknowledged one
(acknowledged, not sent again), `ready` for the held and queued ones once the dead bot's claim
lapsed (TELEGRAM_CLAIM_LEASE). Idle time and lease are 1 s and 2 s here so the module stays
within ~25 s on a quiet machine (most of it two bot start-ups and the migrations).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import redis

from tests.e2e.stack import REPO_DIR, Stack, drop_database, recreate_database
from tests.faults.engines import RedisServer, running_redis, wait_for
from tests.telegram_bot.botapi import FakeBotApi
from tests.telegram_bot.support import BotProcess, bots_started

pytestmark = pytest.mark.faults

SERVICE_TOKEN = "faults-bot-service-token-0123456789abcdef"
STREAM = "telegram:deliveries"
GROUP = "bot"
CHATS = 3
PER_CHAT = 4
DELIVERIES = CHATS * PER_CHAT
CLAIM_LEASE = 2  # django-core: seconds a claim holds a delivery
CLAIM_IDLE = 1  # the bot: seconds before another consumer's entry is taken over
WAIT = 15.0


def database_url() -> str:
    """This module's own database, on the server DATABASE_URL names."""
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/taskflow"
    name = f"{os.environ.get('DATABASE_TEST_NAME') or 'test_taskflow'}_faults_bot"
    return urlsplit(base)._replace(path=f"/{name}").geturl()


def seed_batch(*, label: str, chats: list[int], per_chat: int) -> None:
    """Run inside django-core (`manage.py shell`): a project whose owner assigns `per_chat` tasks
    to each of len(chats) members, each linked to its chat with Telegram on for assignments;
    then the producer's hand-off puts the deliveries on the stream, chats interleaved."""
    from django.utils import timezone
    from notifications.models import NotificationPreference

    from accounts.models import User
    from projects.models import Membership, Project, Role
    from tasks.services import task_create
    from telegram.dispatch import telegram_dispatch_pending

    owner = User.objects.create_user(f"owner-{label}@example.com", None, name="Olga")
    project = Project.objects.create(name=f"Faults {label}")
    Membership.objects.create(project=project, user=owner, role=Role.OWNER, joined_at=timezone.now())
    members = []
    for chat in chats:
        member = User.objects.create_user(
            f"member-{chat}@example.com",
            None,
            name=f"Member {chat}",
            telegram_chat_id=chat,
            has_notification_preferences=True,
        )
        NotificationPreference.objects.create(
            user=member, event_type="task.assigned", web=True, email=False, telegram=True
        )
        Membership.objects.create(project=project, user=member, role=Role.MEMBER, joined_at=timezone.now())
        members.append(member)
    for number in range(per_chat):
        for member in members:
            task_create(actor=owner, project=project, title=f"{label}-{member.pk}-{number}", assignee=member)
    while telegram_dispatch_pending():
        pass


@dataclass
class Core:
    """django-core (gunicorn) on this module's database, with the module's Redis."""

    stack: Stack
    redis_server: RedisServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.stack.django_port}"

    def seed(self, *, label: str, chats: list[int]) -> None:
        code = (
            f"import sys; sys.path.insert(0, {str(REPO_DIR)!r}); "
            "from tests.faults.test_bot_killed import seed_batch; "
            f"seed_batch(label={label!r}, chats={chats!r}, per_chat={PER_CHAT})"
        )
        self.stack.manage("shell", "-c", code, timeout=60)

    def deliveries(self, chats: list[int]) -> dict[int, dict[str, Any]]:
        """Delivery id → {status, message_id, chat_id, title}."""
        with psycopg.connect(self.stack.database_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT id, status, message_id, chat_id, envelope->'data'->'task'->>'title' "
                "FROM telegram_telegramdelivery WHERE chat_id = ANY(%s)",
                [chats],
            ).fetchall()
        return {row[0]: {"status": row[1], "message_id": row[2], "chat_id": row[3], "title": row[4]} for row in rows}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Core]:
    work_dir = tmp_path_factory.mktemp("faults-bot")
    url = database_url()
    with running_redis(work_dir) as redis_server:
        stack = Stack(
            work_dir,
            url,
            redis_server.url,
            user_id_start=1,
            extra_env={
                "TELEGRAM_SERVICE_TOKEN": SERVICE_TOKEN,
                "TELEGRAM_STREAM": STREAM,
                "TELEGRAM_CLAIM_LEASE": str(CLAIM_LEASE),
                "LOG_LEVEL": "WARNING",
            },
        )
        recreate_database(url)
        try:
            # gunicorn boots while the migrations run (nothing asks it for rows before the seed)
            with ThreadPoolExecutor(1) as pool:
                migrated = pool.submit(stack.manage, "migrate", "--noinput", "-v", "0")
                stack.start_django()
                migrated.result()
            stack.wait_ready(f"http://127.0.0.1:{stack.django_port}/api/health", what="django-core")
            yield Core(stack, redis_server)
        finally:
            for process in stack.processes:
                process.stop(signal.SIGKILL)  # nothing to drain: the database goes next
            drop_database(url)


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def bots(core: Core, bot_api: FakeBotApi, tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """`bots(**env)` starts a bot process on the fake Bot API, django-core and the module's
    Redis; any still running at the end are killed."""
    env = {
        "TELEGRAM_STREAM": STREAM,
        "TELEGRAM_CLAIM_IDLE": str(CLAIM_IDLE),
        "TELEGRAM_PACING": "false",  # the batch goes out at once (the global rate stays)
    }
    common = {"core_url": core.url, "service_token": SERVICE_TOKEN, "redis_url": core.redis_server.url}
    with bots_started(tmp_path, **common, api_base=bot_api.base_url, extra_env=env) as start:
        yield lambda **more: start(extra_env=more)


_chats = iter(range(9_100_000_001, 9_199_999_999))


def pending_deliveries(client: redis.Redis) -> dict[str, int]:
    """Entry id → delivery id, for the stream entries read but not acknowledged."""
    pending = client.xpending_range(STREAM, GROUP, min="-", max="+", count=1000)
    out: dict[str, int] = {}
    for entry in pending:
        fields = client.xrange(STREAM, min=entry["message_id"], max=entry["message_id"])
        out[entry["message_id"]] = int(fields[0][1]["d"])
    return out


def test_a_bot_killed_mid_batch_leaves_every_delivery_sent_exactly_once(
    core: Core, bot_api: FakeBotApi, bots: Callable[..., BotProcess]
) -> None:
    chats = [next(_chats) for _ in range(CHATS)]
    acked_late = chats[0]
    pauser = core.redis_server.client()

    # given a bot working through a batch of PER_CHAT deliveries to each of CHATS chats, with
    # Telegram answering the first message of each chat and then not answering any more
    bot_api.hold_sends_from(CHATS + 1)
    name = f"faults-bot-{chats[0]}"
    with ThreadPoolExecutor(1) as pool:  # the batch is made while the bot starts
        seeded = pool.submit(core.seed, label=f"kill-{chats[0]}", chats=chats)
        doomed = bots(TELEGRAM_CONSUMER_NAME=name)
        seeded.result()
    deliveries = core.deliveries(chats)
    assert len(deliveries) == DELIVERIES
    wait_for("a send held in every chat", lambda: len(bot_api.held_calls()) == CHATS, timeout=WAIT)
    # and one chat's held send answered while Redis takes no writes: reported, not acknowledged
    pauser.client_pause(int(WAIT * 1000), all=False)
    bot_api.answer_held(acked_late)

    def reported() -> bool:
        return sum(row["status"] == "sent" for row in core.deliveries(chats).values()) == CHATS + 1

    wait_for("the answered sends reported to django-core", reported, timeout=WAIT)

    # when the bot is SIGKILLed mid-batch; Redis forgets its connections (the XACK waiting in the
    # pause never lands) and takes writes again; Telegram answers again
    doomed.kill()
    pauser.client_kill_filter(_type="normal", skipme=True)
    pauser.client_unpause()
    calls = bot_api.calls("sendMessage")
    wait_for("the killed bot's held requests closed", lambda: all(c.answered for c in calls), timeout=5)
    bot_api.release_sends()
    client = core.redis_server.client()
    before = core.deliveries(chats)
    pending = set(pending_deliveries(client).values())
    sent_before = {d for d, row in before.items() if row["status"] == "sent"}
    # (what the kill left: the rest claimed, held or queued, unsent; one sent and reported, but
    # the entry still pending; no entry of an unsent delivery acknowledged)
    unsent = set(deliveries) - sent_before
    assert len(sent_before) == len(bot_api.sent()) == CHATS + 1
    assert {d for d, row in before.items() if row["status"] == "sending"} == unsent
    assert unsent <= pending, f"deliveries {sorted(unsent - pending)} were acknowledged before being sent"
    reported_pending = {d for d in sent_before & pending if before[d]["chat_id"] == acked_late}
    assert reported_pending, "the delivery reported during the pause was acknowledged: XACK ran before the report"

    # and the bot is started again under the same consumer name (a restarted container: same
    # host name, pid 1), whose pending entries XREADGROUP ">" never hands back
    fresh = bots(TELEGRAM_CONSUMER_NAME=name)

    # then every delivery is sent, reported and acknowledged...
    def settled() -> bool:
        rows = core.deliveries(chats).values()
        return all(row["status"] == "sent" for row in rows) and client.xpending(STREAM, GROUP)["pending"] == 0

    try:
        wait_for("every delivery sent and acknowledged", settled, timeout=WAIT)
    except Exception as error:
        raise AssertionError(f"{error}\n--- fresh bot ---\n{fresh.log_tail()}") from None
    # ...as exactly one message each, the one django-core recorded for it
    after = core.deliveries(chats)
    messages = [m for m in bot_api.sent() if m["chat_id"] in chats]
    titles = Counter(next(row["title"] for row in after.values() if row["title"] in m["text"]) for m in messages)
    assert titles == Counter({row["title"]: 1 for row in after.values()}), titles
    assert {(m["chat_id"], m["message_id"]) for m in messages} == {
        (row["chat_id"], row["message_id"]) for row in after.values()
    }
    # and it took the entries over after their idle time (nothing was new to read), none of them
    # now pending anywhere
    assert "Took over" in fresh.log(), fresh.log_tail()
    assert all(c["pending"] == 0 for c in client.xinfo_consumers(STREAM, GROUP))
    client.close()
    pauser.close()
