import logging

from django.db import connection
from redis.exceptions import RedisError

from common.redis import redis_client

logger = logging.getLogger(__name__)

# The only words a public health answer carries: an exception's text names hosts, ports and
# users (psycopg's "connection to server at ..."), so it stays in the log and on /internal/ready.
CHECK_OK = "ok"
CHECK_UNAVAILABLE = "unavailable"
HEALTH_WORDS = (CHECK_OK, CHECK_UNAVAILABLE)


def database_check() -> str:
    """`ok`, or the error the database answered with now (for internal endpoints only)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return CHECK_OK
    except Exception as exc:  # any failure is reported, none is raised
        return f"error: {type(exc).__name__}: {exc}".strip()


def dependency_report() -> dict[str, str]:
    """`ok` or the error for each dependency, checked now: for endpoints the gateway does not
    route (/internal/ready, the outbox relay's /ready), since an error names hosts."""
    checks: dict[str, str] = {"database": database_check()}
    try:
        redis_client().ping()
        checks["redis"] = CHECK_OK
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}: {exc}".strip()
    return checks


def dependency_checks() -> dict[str, str]:
    """`ok` or `unavailable` for each dependency, checked now: safe to answer anyone (/api/health).
    The error itself goes to the log."""
    checks: dict[str, str] = {}
    for name, value in dependency_report().items():
        if value != CHECK_OK:
            logger.warning("health check failed: %s %s", name, value)
        checks[name] = CHECK_OK if value == CHECK_OK else CHECK_UNAVAILABLE
    return checks
