"""The push consumer against real Redis, with django-core and Telegram stood in for: what a bot
that starts after another one died does with the dead one's entries (tests/faults/
test_bot_killed.py kills real processes; these show each rule on its own).

- A consumer takes over entries another consumer read and never acknowledged once they are idle
  for TELEGRAM_CLAIM_IDLE, whether it has the dead one's name (a restarted container) or its
  own: XREADGROUP ">" never hands pending entries back, XAUTOCLAIM does.
- django-core's claim decides: a delivery it answers `done` (sent before the crash, never
  acknowledged) is acknowledged without a send.
- An entry is acknowledged only after its outcome is reported: a bot killed in between leaves
  it pending, and the next claim says `done`.
"""

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from taskflow_bot.config import Settings  # isort: skip (on sys.path through conftest)
from taskflow_bot.health import LoopHealth  # isort: skip
from taskflow_bot.push import GROUP, PushConsumer  # isort: skip

DEAD = "bot-that-died"
_message_ids = itertools.count(1)


class Core:
    """django-core's claim and report: `done` for the deliveries in `sent`, `ready` otherwise."""

    def __init__(self, *, sent: set[int], on_report: Any = None) -> None:
        self.sent = set(sent)
        self.claimed: list[int] = []
        self.reports: list[tuple[int, str]] = []
        self._on_report = on_report

    async def claim(self, delivery_ids: list[int]) -> list[dict[str, Any]]:
        self.claimed += delivery_ids
        return [
            {"id": d, "status": "skip", "reason": "done"}
            if d in self.sent
            else {"id": d, "status": "ready", "chat_id": 1000 + d, "text": f"delivery {d}", "buttons": []}
            for d in delivery_ids
        ]

    async def report_result(self, delivery_id: int, outcome: str, **_: Any) -> dict[str, Any]:
        if self._on_report is not None:
            self._on_report(delivery_id)
        self.reports.append((delivery_id, outcome))
        self.sent.add(delivery_id)
        return {"status": "sent", "retry": False}


class Telegram:
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send_message(self, *, chat_id: int, text: str, **_: Any) -> SimpleNamespace:
        self.sent.append(int(text.removeprefix("delivery ")))
        return SimpleNamespace(message_id=next(_message_ids))


@pytest.fixture
def entries(redis_client: redis.Redis, stream: str) -> dict[int, str]:
    """Deliveries 1-4 on the stream, read by a consumer that then died: delivery id → entry id."""
    redis_client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    added = {delivery: redis_client.xadd(stream, {"d": delivery, "c": 1000 + delivery}) for delivery in range(1, 5)}
    redis_client.xreadgroup(GROUP, DEAD, {stream: ">"}, count=10)
    return added


def run_until_acknowledged(name: str, *, redis_url: str, stream: str, core: Core, bot: Telegram) -> None:
    """Runs a consumer called `name` until nothing is pending in the group (10 s at most)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token="1:x",
        telegram_stream=stream,
        telegram_consumer_name=name,
        telegram_claim_idle=0.2,
        telegram_pacing=False,
    )
    watch = redis.Redis.from_url(redis_url, decode_responses=True)

    async def scenario() -> None:
        client = Redis.from_url(redis_url, decode_responses=True)
        consumer = PushConsumer(bot=bot, core=core, redis=client, settings=settings, health=LoopHealth("push"))  # type: ignore[arg-type]
        task = asyncio.create_task(consumer.run())
        try:
            async with asyncio.timeout(10):
                while watch.xpending(stream, GROUP)["pending"]:
                    await asyncio.sleep(0.02)
        finally:
            await consumer.stop(1.0)
            await asyncio.wait_for(task, 5)
            await client.aclose()
            watch.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("name", [DEAD, "another-bot"])
def test_a_dead_consumers_entries_are_taken_over_and_only_the_unsent_ones_sent(
    redis_client: redis.Redis, redis_url: str, stream: str, entries: dict[int, str], name: str
) -> None:
    # given delivery 2 sent before the crash (reported, never acknowledged)
    core, bot = Core(sent={2}), Telegram()

    # when a consumer of that name runs
    run_until_acknowledged(name, redis_url=redis_url, stream=stream, core=core, bot=bot)

    # then every entry was claimed, each unsent delivery sent once, the sent one not again
    assert sorted(core.claimed) == [1, 2, 3, 4]
    assert sorted(bot.sent) == [1, 3, 4]
    assert sorted(core.reports) == [(1, "sent"), (3, "sent"), (4, "sent")]
    assert {c["name"]: c["pending"] for c in redis_client.xinfo_consumers(stream, GROUP)}.get(DEAD, 0) == 0


def test_an_entry_is_acknowledged_only_after_its_outcome_is_reported(
    redis_client: redis.Redis, redis_url: str, stream: str, entries: dict[int, str]
) -> None:
    # given a django-core that notes, at each report, whether the entry is still pending
    pending_at_report: dict[int, bool] = {}

    def on_report(delivery_id: int) -> None:
        pending = redis_client.xpending_range(stream, GROUP, min="-", max="+", count=10)
        pending_at_report[delivery_id] = entries[delivery_id] in {p["message_id"] for p in pending}

    core, bot = Core(sent=set(), on_report=on_report), Telegram()

    # when another consumer takes the entries over and sends them
    run_until_acknowledged("another-bot", redis_url=redis_url, stream=stream, core=core, bot=bot)

    # then each entry was still pending when its delivery was reported sent
    assert pending_at_report == {1: True, 2: True, 3: True, 4: True}
    assert sorted(bot.sent) == [1, 2, 3, 4]
