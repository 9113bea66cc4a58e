"""Fixtures of the realtime relay suite: real Redis on a dedicated database, real relay
processes, real WebSocket clients.

Redis: database REDIS_TEST_DB (default 12; plus the xdist worker number), emptied once per
session; never database 0. The Django contract test points django-core at the same database.
"""

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from tests.engines.fixtures import redis_cluster, redis_sentinel  # noqa: F401 (real engines, started on demand)
from tests.fastapi_realtime.support import (
    KEY_DIR,
    RELAY_DIR,
    REPO_DIR,
    SERVICE_TOKEN,
    RelayProcess,
    Sockets,
)

# Unit tests import the relay's modules directly (the service itself runs from its own folder).
if str(RELAY_DIR) not in sys.path:
    sys.path.insert(0, str(RELAY_DIR))


@pytest.fixture(scope="session")
def redis_test_db() -> int:
    # pytest-xdist names its workers gw0, gw1...; without it (-p no:xdist) there is one process.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(os.environ.get("REDIS_TEST_DB") or 12) + (int(worker[2:]) if worker.startswith("gw") else 0)
    assert index != 0, "the realtime tests never use Redis database 0"
    return index


@pytest.fixture(scope="session")
def redis_url(redis_test_db: int) -> str:
    netloc = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").netloc
    return f"redis://{netloc}/{redis_test_db}"


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture(scope="session")
def jwt_keys() -> Path:
    if not (KEY_DIR / "jwt_private.pem").is_file():
        subprocess.run([sys.executable, str(REPO_DIR / "scripts" / "jwt_keys.py")], check=True, cwd=REPO_DIR)
    return KEY_DIR


@pytest.fixture(scope="session")
def relay_env(redis_url: str, jwt_keys: Path) -> dict[str, str]:
    # Nothing of the developer's relay or Redis topology settings leaks in (REDIS_CLUSTER_URL...).
    env = {name: value for name, value in os.environ.items() if not name.startswith(("WS_", "REALTIME_", "REDIS_"))}
    env.update(
        ENV="test",
        REDIS_URL=redis_url,
        JWT_PUBLIC_KEY_FILE=str(jwt_keys / "jwt_public.pem"),
        REALTIME_SERVICE_TOKEN=SERVICE_TOKEN,
        WS_ALLOWED_ORIGINS="http://localhost:8080,http://127.0.0.1:8080",
        WS_QUEUE_SIZE="64",
        WS_CLOSE_TIMEOUT="5",
        WS_DRAIN_TIMEOUT="3",
        REDIS_BACKOFF_INITIAL="0.05",
        REDIS_BACKOFF_MAX="0.5",
        REDIS_HEARTBEAT_INTERVAL="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("JWT_PUBLIC_KEY", None)
    return env


@pytest.fixture(scope="session")
def make_relay(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RelayProcess]]:
    """Starts relay processes; all are stopped at the end of the session."""
    started: list[RelayProcess] = []
    log_dir = tmp_path_factory.mktemp("relay-logs")

    def make(name: str, *, ping_interval: float = 20.0, ping_timeout: float = 20.0, **env: str) -> RelayProcess:
        relay = RelayProcess(
            name=name,
            env={**relay_env, **env},
            log_dir=log_dir,
            ws_ping_interval=ping_interval,
            ws_ping_timeout=ping_timeout,
        )
        started.append(relay)
        return relay.start()

    yield make
    for relay in started:
        relay.stop()


@pytest.fixture(scope="session")
def relay(make_relay: Callable[..., RelayProcess], redis_client: redis.Redis) -> RelayProcess:
    """Relay instance A."""
    return make_relay("a")


@pytest.fixture(scope="session")
def relay_b(make_relay: Callable[..., RelayProcess], redis_client: redis.Redis) -> RelayProcess:
    """Relay instance B, on the same Redis; quick protocol pings, to catch dead peers."""
    return make_relay("b", ping_interval=0.5, ping_timeout=1.0)


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    with contextlib.ExitStack() as stack:
        yield Sockets(stack)
