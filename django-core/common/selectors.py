from django.db import connection
from redis.exceptions import RedisError

from common.redis import redis_client


def dependency_checks() -> dict[str, str]:
    """`ok` or the error for each dependency, checked now."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure is reported, none is raised
        checks["database"] = f"error: {type(exc).__name__}: {exc}".strip()
    try:
        redis_client().ping()
        checks["redis"] = "ok"
    except RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}: {exc}".strip()
    return checks
