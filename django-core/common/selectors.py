from django.db import connection
from redis.exceptions import RedisError

from common.redis import redis_client


def database_check() -> str:
    """`ok`, or the error the database answered with now."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any failure is reported, none is raised
        return f"error: {type(exc).__name__}: {exc}".strip()


def dependency_checks() -> dict[str, str]:
    """`ok` or the error for each dependency, checked now."""
    checks: dict[str, str] = {"database": database_check()}
    try:
        redis_client().ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}: {exc}".strip()
    return checks
