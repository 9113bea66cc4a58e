"""Fixtures of the fault suite. `make test-faults` runs it in one process (-p no:xdist): the
tests start servers and kill them. Every test module sets `pytestmark = pytest.mark.faults`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.faults.engines import RedisServer, running_redis


@pytest.fixture(autouse=True)
def _one_process() -> None:
    assert not os.environ.get("PYTEST_XDIST_WORKER"), "the fault suite starts servers: run it in one process"


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this test's own (restartable; never the shared one)."""
    with running_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
