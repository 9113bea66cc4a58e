"""Engines the fault tests own and may stop, kill and restart: a redis-server on a free loopback
port (nothing on disk, as the shared one: a restart empties it)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.engines.processes import Process, find_binary, free_port, start_process, wait_for

START_TIMEOUT = 20.0


@dataclass
class RedisServer:
    """`redis-server` on `port`; `restart()` stops it (SIGKILL by default: a crash) and starts a
    fresh, empty one on the same port."""

    work_dir: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def start(self) -> RedisServer:
        binary = find_binary("redis-server", "redis-server")
        self.starts += 1
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--maxmemory-policy", "noeviction"]
        self.process = start_process(f"redis-{self.port}-{self.starts}", command, self.work_dir)
        with contextlib.closing(self.client()) as client:
            wait_for(f"redis-server on :{self.port}", client.ping, timeout=START_TIMEOUT, processes=[self.process])
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            self.process.stop(sig)

    def restart(self, *, down_for: float = 0.0, sig: int = signal.SIGKILL) -> None:
        import time

        self.stop(sig)
        time.sleep(down_for)
        self.start()


@contextlib.contextmanager
def running_redis(work_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(work_dir).start()
    try:
        yield server
    finally:
        server.stop(signal.SIGTERM)
