"""A Redis Cluster of three masters (no replicas) on free loopback ports, made by `redis-cli
--cluster create` as an operator would.

    with running_redis_cluster(tmp_path) as cluster:
        env["REDIS_CLUSTER_URL"] = cluster.url      # any node: the others are discovered
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.engines.processes import Process, find_binary, free_port, start_process, wait_for

START_TIMEOUT = 20.0


@dataclass
class RedisClusterEngine:
    ports: list[int]
    processes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The seed for REDIS_CLUSTER_URL (the first node)."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis.Redis:
        """A plain connection to one node (no redirections followed)."""
        return redis.Redis(port=port, socket_timeout=5, decode_responses=True)

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster.from_url(self.url, decode_responses=True, socket_timeout=5)

    def port_of_slot(self, slot: int) -> int:
        """The port of the node that serves `slot`, as the cluster itself reports it."""
        with contextlib.closing(self.node(self.ports[0])) as node:
            for start, end, master, *_replicas in node.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        raise LookupError(f"no node serves slot {slot}")

    def keyslot(self, key: str) -> int:
        with contextlib.closing(self.node(self.ports[0])) as node:
            return int(node.execute_command("CLUSTER KEYSLOT", key))

    def logs(self) -> str:
        return "\n".join(process.log_tail() for process in self.processes)


def _cluster_ok(engine: RedisClusterEngine) -> bool:
    for port in engine.ports:
        with contextlib.closing(engine.node(port)) as node:
            if node.execute_command("CLUSTER INFO").get("cluster_state") != "ok":  # parsed by redis-py
                return False
    return True


@contextlib.contextmanager
def running_redis_cluster(work_dir: Path, *, masters: int = 3) -> Iterator[RedisClusterEngine]:
    server = find_binary("redis-server", "redis-server")
    cli = find_binary("redis-cli", "redis-tools")
    work_dir.mkdir(parents=True, exist_ok=True)
    engine = RedisClusterEngine(ports=[free_port() for _ in range(masters)])
    try:
        for port in engine.ports:
            # The bus port is set explicitly (Redis >= 7): the default, port + 10000, may be taken
            # or past 65535 for a port from the ephemeral range.
            command = [
                server,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--cluster-enabled", "yes",
                "--cluster-port", str(free_port()),
                "--cluster-config-file", str(work_dir / f"nodes-{port}.conf"),
                "--cluster-node-timeout", "2000",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(work_dir),
                "--daemonize", "no",
            ]  # fmt: skip
            engine.processes.append(start_process(f"redis-cluster-{port}", command, work_dir))
        for port in engine.ports:
            wait_for(
                f"Redis Cluster node {port}",
                lambda port=port: _ping(engine, port),
                timeout=START_TIMEOUT,
                processes=engine.processes,
            )
        nodes = [f"127.0.0.1:{port}" for port in engine.ports]
        created = subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")
        wait_for(
            "cluster_state:ok on every node",
            lambda: _cluster_ok(engine),
            timeout=START_TIMEOUT,
            processes=engine.processes,
        )
        yield engine
    finally:
        for process in reversed(engine.processes):
            process.stop()


def _ping(engine: RedisClusterEngine, port: int) -> bool:
    with contextlib.closing(engine.node(port)) as node:
        return bool(node.ping())
