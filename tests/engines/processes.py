"""What every engine needs: its binary (or a message saying what to install), a process that
dies with the test process, and waiting until it answers."""

from __future__ import annotations

import os
import pwd
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tests.e2e.stack import Process, free_port

__all__ = ["EngineUnavailable", "Process", "find_binary", "free_port", "start_process", "wait_for"]

T = TypeVar("T")
# Debian puts daemons in /usr/sbin, which is not on an ordinary user's PATH.
SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


class EngineUnavailable(RuntimeError):
    """An engine's binary is missing, or the engine did not come up."""


def find_binary(name: str, package: str) -> str:
    found = shutil.which(name) or next(
        (f"{folder}/{name}" for folder in SEARCH_DIRS if os.access(f"{folder}/{name}", os.X_OK)), None
    )
    if found is None:
        raise EngineUnavailable(
            f"{name} is not installed: the scaling suites start it themselves. Debian/Ubuntu: "
            f"`sudo apt-get install -y {package}` (`make test` does it when run as root)."
        )
    return found


def start_process(name: str, command: list[str], work_dir: Path, *, env: dict[str, str] | None = None) -> Process:
    """Starts `command` with its output in `work_dir/<name>.log`; it gets SIGTERM if the test
    process dies first (tests.e2e.stack.Process)."""
    keep = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR")}
    return Process(name, command, work_dir, {**keep, **(env or {})}, work_dir / f"{name}.log").start()


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, processes: Sequence[Process] = ()) -> T:
    """Calls `probe` until it returns something other than None or False (exceptions count as not
    yet); fails with the processes' logs after `timeout` seconds, or at once when one exits."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        dead = [process for process in processes if not process.running]
        if dead:
            raise EngineUnavailable(
                f"{', '.join(p.name for p in dead)} exited while waiting for {what}:\n"
                + "\n".join(p.log_tail() for p in dead)
            )
        try:
            result = probe()
            if result is not None and result is not False:
                return result
        except Exception as error:
            last = error
        if time.monotonic() > deadline:
            logs = "\n".join(process.log_tail() for process in processes)
            raise EngineUnavailable(f"{what} did not happen within {timeout:g} s (last error: {last!r})\n{logs}")
        time.sleep(0.05)


def unprivileged_user() -> str | None:
    """The account to run a daemon that refuses root (PgBouncer) as, when the tests run as root:
    `postgres` (the PostgreSQL package's), else `nobody`. None when not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise EngineUnavailable("running as root with neither a `postgres` nor a `nobody` account to drop to")


def as_user(command: list[str], user: str | None) -> list[str]:
    """`command` run as `user`. setpriv execs in place (the process group stays); the kernel
    clears the parent-death signal when the user changes, so it is set again after."""
    if user is None:
        return command
    setpriv = find_binary("setpriv", "util-linux")
    return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", "--pdeathsig=SIGTERM", "--", *command]


def hand_over(path: Path, user: str | None) -> None:
    """Makes `path` (a directory) writable by `user`."""
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
