"""Waiting for something another process or thread does (a relay, a Celery worker)."""

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    """Polls `condition` until it holds or `timeout` seconds pass; whether it held (asserted by
    the caller, with its own message)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
