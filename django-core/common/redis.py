from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    """The process-wide Redis client (a connection pool inside); every call times out quickly so a
    Redis outage never hangs a request."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )
