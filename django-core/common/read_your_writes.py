"""Read your writes: after a user's write, that user's reads go to the primary for
REPLICA_PIN_SECONDS (default 5 s). docs/scaling.md "Read replica" states the rule; this module
keeps it, common.db_router obeys it.

Any request that may write (not GET, HEAD, OPTIONS, TRACE) of a signed-in user pins that user:
a Redis key `db:pin:<user id>` that expires after REPLICA_PIN_SECONDS. It lives in the Redis
every django-core process shares (common.redis), so the pin holds whichever instance behind the
gateway, and whichever of the user's tabs or devices, the next read reaches. (A signed cookie
would pin only the client that wrote and needs clients that keep cookies; API clients with
bearer tokens often do not.) Cost: one SET per write, one EXISTS per list request that may read
from the replica; none at all without DATABASE_REPLICA_URL (the middleware is not installed).
When Redis cannot answer, a user counts as pinned: reads go to the primary, never stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

from common.redis import redis_client

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def replica_pin_key(user_id: int) -> str:
    return f"db:pin:{user_id}"


def user_pin(*, user_id: int) -> None:
    """Sends `user_id`'s reads to the primary for the next REPLICA_PIN_SECONDS (again from now
    if already pinned)."""
    milliseconds = max(1, int(settings.REPLICA_PIN_SECONDS * 1000))
    redis_client().set(replica_pin_key(user_id), 1, px=milliseconds)


def user_pinned(*, user_id: int) -> bool:
    """Whether `user_id` wrote within the last REPLICA_PIN_SECONDS (True when Redis cannot say)."""
    try:
        return bool(redis_client().exists(replica_pin_key(user_id)))
    except RedisError:
        logger.warning("Redis unavailable: user %s reads from the primary", user_id)
        return True


class ReadYourWritesMiddleware:
    """Pins the signed-in user after any request that may have written.

    After the view: API requests are authenticated inside DRF's view (JWT), which sets the user
    on this request as it does so; the admin's session user is set before. The write has been
    committed by then (services commit before the view answers), so the pin is in place before
    the client sees the answer and can read again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                try:
                    user_pin(user_id=user.pk)
                except RedisError:
                    # Its reads then stay on the primary anyway: user_pinned() says True while
                    # Redis is down. A pin lost to a blip is the one risk, logged.
                    logger.warning("Redis unavailable: could not pin user %s to the primary", user.pk)
        return response
