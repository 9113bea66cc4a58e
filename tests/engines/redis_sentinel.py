"""Redis Sentinel on free loopback ports: a primary, one replica and three Sentinels (quorum 2)
watching them as `taskflow`, tuned to fail over within seconds.

    with running_redis_sentinel(tmp_path) as sentinel:
        env["REDIS_SENTINELS"] = sentinel.sentinels_value     # host:port,host:port,host:port
        env["REDIS_SENTINEL_MASTER"] = sentinel.master_name
        ...
        sentinel.failover()                                    # or failover(stop_primary=True)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.engines.processes import Process, find_binary, free_port, start_process, wait_for

MASTER_NAME = "taskflow"
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
START_TIMEOUT = 30.0
FAILOVER_WAIT = 30.0


@dataclass
class RedisServer:
    port: int
    process: Process

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)

    def role(self) -> str:
        with contextlib.closing(self.client()) as client:
            return str(client.execute_command("ROLE")[0])


@dataclass
class RedisSentinelEngine:
    work_dir: Path
    servers: dict[int, RedisServer] = field(default_factory=dict)  # by port
    sentinels: list[tuple[int, Process]] = field(default_factory=list)
    master_name: str = MASTER_NAME
    failovers: int = 0

    @property
    def sentinels_value(self) -> str:
        """For REDIS_SENTINELS."""
        return ",".join(f"127.0.0.1:{port}" for port, _process in self.sentinels)

    def env(self) -> dict[str, str]:
        return {"REDIS_SENTINELS": self.sentinels_value, "REDIS_SENTINEL_MASTER": self.master_name}

    @property
    def processes(self) -> list[Process]:
        return [server.process for server in self.servers.values()] + [process for _port, process in self.sentinels]

    def sentinel_client(self, index: int = 0) -> redis.Redis:
        port = self.sentinels[index][0]
        return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)

    def reported_primaries(self) -> set[int | None]:
        """The primary's port as each Sentinel reports it (None: that one does not answer)."""
        ports: set[int | None] = set()
        for index in range(len(self.sentinels)):
            try:
                with contextlib.closing(self.sentinel_client(index)) as client:
                    _host, port = client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", self.master_name)
                    ports.add(int(port))
            except (redis.RedisError, TypeError, ValueError):
                ports.add(None)
        return ports

    @property
    def primary(self) -> RedisServer:
        (port,) = self.reported_primaries()
        assert port is not None, "a Sentinel does not answer"
        return self.servers[port]

    @property
    def replica(self) -> RedisServer:
        primary = self.primary.port
        (replica,) = [server for port, server in self.servers.items() if port != primary]
        return replica

    def failover(self, *, stop_primary: bool = False) -> int:
        """Moves the primary to the replica and waits until every Sentinel names the new one;
        returns its port. Waits first for the replica to be in sync (a failover right after the
        previous one needs a replica again).

        `stop_primary=False`: `SENTINEL FAILOVER`, a switch-over an operator asks for. The old
        primary goes on taking writes as a primary until a Sentinel turns it into a replica (its
        next look, within ~10 s), and what it took meanwhile is lost: the split-brain window
        clients must survive. True: the primary's process is killed (SIGKILL, as a crashed
        machine), the Sentinels agree it is down (quorum 2) and promote the replica; the old one
        is started again on its port as a replica of the new one (`wait_replicated()`)."""
        self.wait_replicated()
        old = self.primary
        new = self.replica
        if stop_primary:
            old.process.stop(sig=9)
        else:
            with contextlib.closing(self.sentinel_client()) as client:
                client.execute_command("SENTINEL FAILOVER", self.master_name)
        wait_for(
            f"every Sentinel naming {new.port} the primary",
            lambda: self.reported_primaries() == {new.port} and new.role() == "master",
            timeout=FAILOVER_WAIT,
            processes=[new.process],
        )
        if stop_primary:
            old.process = _start_server(self.work_dir, old.port, replica_of=new.port)
        self.failovers += 1
        return new.port

    def wait_replicated(self) -> None:
        """Until the server that is not the primary replicates from it (link up)."""
        primary = self.primary
        replica = self.replica
        wait_for(
            f"{replica.port} replicating from {primary.port}",
            lambda: _linked(replica, primary.port),
            timeout=FAILOVER_WAIT,
            processes=self.processes,
        )

    def logs(self) -> str:
        return "\n".join(process.log_tail() for process in self.processes)


def _linked(server: RedisServer, primary_port: int) -> bool:
    with contextlib.closing(server.client()) as client:
        info = client.info("replication")
    return (
        info.get("role") == "slave"
        and int(info.get("master_port", 0)) == primary_port
        and info.get("master_link_status") == "up"
    )


def _start_server(work_dir: Path, port: int, *, replica_of: int | None = None) -> Process:
    command = [
        find_binary("redis-server", "redis-server"),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", str(work_dir),
        "--dbfilename", f"dump-{port}.rdb",
        "--daemonize", "no",
    ]  # fmt: skip
    if replica_of is not None:
        command += ["--replicaof", "127.0.0.1", str(replica_of)]
    return start_process(f"redis-{port}", command, work_dir)


def _sentinel_config(path: Path, port: int, primary_port: int) -> None:
    # Sentinel rewrites its file (what it learns: replicas, other Sentinels, the epoch).
    path.write_text(
        f"port {port}\n"
        "bind 127.0.0.1\n"
        "protected-mode no\n"
        "daemonize no\n"
        f"dir {path.parent}\n"
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} {QUORUM}\n"
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
        f"sentinel parallel-syncs {MASTER_NAME} 1\n"
    )


def _knows_everyone(engine: RedisSentinelEngine, index: int) -> bool:
    with contextlib.closing(engine.sentinel_client(index)) as client:
        replicas = client.execute_command("SENTINEL REPLICAS", engine.master_name)
        others = client.execute_command("SENTINEL SENTINELS", engine.master_name)
    return len(replicas) == len(engine.servers) - 1 and len(others) == len(engine.sentinels) - 1


@contextlib.contextmanager
def running_redis_sentinel(work_dir: Path, *, sentinels: int = 3) -> Iterator[RedisSentinelEngine]:
    sentinel_binary = find_binary("redis-sentinel", "redis-sentinel")
    work_dir.mkdir(parents=True, exist_ok=True)
    engine = RedisSentinelEngine(work_dir)
    try:
        primary_port, replica_port = free_port(), free_port()
        engine.servers[primary_port] = RedisServer(primary_port, _start_server(work_dir, primary_port))
        engine.servers[replica_port] = RedisServer(
            replica_port, _start_server(work_dir, replica_port, replica_of=primary_port)
        )
        wait_for(
            "the replica's link to the primary",
            lambda: _linked(engine.servers[replica_port], primary_port),
            timeout=START_TIMEOUT,
            processes=engine.processes,
        )
        for _ in range(sentinels):
            port = free_port()
            config = work_dir / f"sentinel-{port}.conf"
            _sentinel_config(config, port, primary_port)
            engine.sentinels.append((port, start_process(f"sentinel-{port}", [sentinel_binary, str(config)], work_dir)))
        # Sentinels find the replica and each other through the primary (hello messages every
        # 2 s): ready when each knows all of them.
        started = time.monotonic()
        for index in range(sentinels):
            wait_for(
                "the Sentinels discovering the replica and each other",
                lambda index=index: _knows_everyone(engine, index),
                timeout=max(1.0, START_TIMEOUT - (time.monotonic() - started)),
                processes=engine.processes,
            )
        yield engine
    finally:
        for process in reversed(engine.processes):
            process.stop()
