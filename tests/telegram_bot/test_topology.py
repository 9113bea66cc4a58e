"""The bot's push consumer on the Redis topologies it may be given (docs/scaling.md): a Redis
Cluster (REDIS_CLUSTER_URL) and Sentinel's primary (REDIS_SENTINELS, REDIS_SENTINEL_MASTER), both
real and started by the suite (tests/engines). The consumer group reads the stream there and
leaves the entries pending while django-core is down, as on a single node."""

import time
import uuid
from collections.abc import Callable

import pytest
import redis
from taskflow_contracts import RedisTopology, sync_client

from tests.telegram_bot.botapi import FakeBotApi
from tests.telegram_bot.support import BotProcess

pytestmark = pytest.mark.scaling


@pytest.fixture(params=["cluster", "sentinel"])
def topology_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "cluster":
        return {"REDIS_CLUSTER_URL": request.getfixturevalue("redis_cluster").url}
    return {"REDIS_URL": "redis://127.0.0.1/0", **request.getfixturevalue("redis_sentinel").env()}


def test_the_stream_is_consumed_on_the_topology(
    make_bot: Callable[..., BotProcess], bot_api: FakeBotApi, closed_port_url: str, topology_env: dict[str, str]
) -> None:
    stream = f"telegram:test:{uuid.uuid4().hex[:10]}"
    client = sync_client(RedisTopology.from_env(topology_env), decode_responses=True, socket_timeout=5)
    bot = make_bot(core_url=closed_port_url, TELEGRAM_STREAM=stream, **topology_env)

    # when deliveries arrive on that Redis and the claim cannot reach django-core
    with client.pipeline(transaction=True) as pipe:  # one read sees both (one key: one slot)
        pipe.xadd(stream, {"d": "1", "c": "5005"})
        pipe.xadd(stream, {"d": "2", "c": "5005"})
        pipe.execute()

    # then the bot's consumer group has read them there (pending, not acknowledged, not sent)
    deadline = time.monotonic() + 15
    while _pending(client, stream) < 2:
        assert time.monotonic() < deadline, bot.log_tail()
        time.sleep(0.1)
    assert bot.health().json()["polling"] is True
    assert bot_api.sent(5005) == []
    assert bot.stop() == 0
    assert client.xpending(stream, "bot")["pending"] == 2
    client.delete(stream)
    client.close()


def _pending(client: redis.Redis, stream: str) -> int:
    try:
        return int(client.xpending(stream, "bot")["pending"])
    except redis.ResponseError:  # NOGROUP: the bot has not created its group yet
        return 0
