"""A PostgreSQL cluster of the test's own, which it may stop and start: `initdb` from the
installed server's binaries (/usr/lib/postgresql/<version>/bin) in a temporary directory, the
server on a free loopback port, trust authentication for `postgres`, no fsync (a test's data
need not survive a power cut; a stop and start keep it all).

PostgreSQL refuses to run as root: as root, the binaries run as the `postgres` account (the
package's), in a directory of their own under the system's temporary directory (pytest's are
private to the user running it).

    with running_postgres() as cluster:
        cluster.url("taskflow")   # a DATABASE_URL
        cluster.stop()            # fast shutdown: sessions are cut, what committed stays
        cluster.start()           # the same data, the same port
"""

from __future__ import annotations

import contextlib
import glob
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.engines.processes import (
    EngineUnavailable,
    Process,
    as_user,
    free_port,
    hand_over,
    start_process,
    unprivileged_user,
    wait_for,
)

START_TIMEOUT = 20.0


def postgres_bin_dir() -> Path:
    """The newest installed server's bin directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4]))
    if not found:
        raise EngineUnavailable(
            "PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin): "
            "`sudo apt-get install -y postgresql` (`make test` does it when run as root)."
        )
    return Path(found[-1]).parent


@dataclass
class PostgresCluster:
    work_dir: Path
    run_as: str | None
    port: int = field(default_factory=free_port)
    process: Process | None = None
    starts: int = 0

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> PostgresCluster:
        self.data_dir.mkdir()
        hand_over(self.data_dir, self.run_as)
        command = [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres"]
        command += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
        completed = subprocess.run(as_user(command, self.run_as), capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise EngineUnavailable(f"initdb failed:\n{completed.stdout}\n{completed.stderr}")
        return self

    def start(self) -> PostgresCluster:
        self.starts += 1
        command = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        command += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.work_dir}"]
        command += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        command += ["-c", "max_connections=60"]
        name = f"postgres-{self.port}-{self.starts}"
        self.process = start_process(name, as_user(command, self.run_as), self.work_dir)
        wait_for(f"PostgreSQL on :{self.port}", self._answers, timeout=START_TIMEOUT, processes=[self.process])
        return self

    def _answers(self) -> bool:
        with psycopg.connect(self.url(), connect_timeout=2) as connection:
            connection.execute("SELECT 1")
        return True

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT: a fast shutdown (open transactions rolled back, sessions cut, then a clean
        stop); SIGKILL: a crash (recovery from the WAL at the next start)."""
        if self.process is not None:
            self.process.stop(sig)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresCluster]:
    run_as = unprivileged_user()
    with tempfile.TemporaryDirectory(prefix="taskflow-faults-postgres-") as folder:
        work_dir = Path(folder)
        hand_over(work_dir, run_as)
        cluster = PostgresCluster(work_dir, run_as).init().start()
        try:
            yield cluster
        finally:
            cluster.stop()
