"""Throttling counters in Redis: failed sign-ins (accounts.login_throttle) and DRF rate limits
on writes that send mail (registration, invites).

Every counter is a fixed window: the first hit creates the key with the window as its TTL, later
hits only increment it, so a key never outlives its window and a client refused now is let in
again when the key expires (a cool-off, never a permanent lock).

Redis down: the throttled endpoints fail closed with a 503 (`throttle_unavailable`, with
`Retry-After`), never open and never a 500. An unthrottled login endpoint during an outage would
be an unlimited password oracle; a sign-in that waits a few seconds for Redis is the smaller
harm, and existing sessions (access and refresh tokens) keep working meanwhile.
"""

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from common.errors import ServiceUnavailable
from common.redis import redis_client

logger = logging.getLogger(__name__)

KEY_PREFIX = "throttle:"
UNAVAILABLE_RETRY_AFTER = 5


class ThrottleUnavailable(ServiceUnavailable):
    default_code = "throttle_unavailable"

    def __init__(self) -> None:
        super().__init__(_("This is unavailable for a moment; try again shortly."))
        self.wait = UNAVAILABLE_RETRY_AFTER


@dataclass(frozen=True)
class Window:
    """A counter's state: hits so far in the window and seconds until the window ends."""

    count: int
    retry_after: int


def _unavailable(exc: redis.RedisError) -> ThrottleUnavailable:
    logger.warning("throttle counters unavailable (Redis): %s", exc)
    return ThrottleUnavailable()


def counter_read(key: str) -> Window:
    """The counter's window without counting a hit. Raises ThrottleUnavailable when Redis is down."""
    try:
        with redis_client().pipeline(transaction=False) as pipe:
            pipe.get(KEY_PREFIX + key)
            pipe.ttl(KEY_PREFIX + key)
            raw, ttl = pipe.execute()
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return Window(count=int(raw or 0), retry_after=max(int(ttl), 1))


def counter_hit(key: str, *, window: int) -> Window:
    """Counts one hit; the key is created with a TTL of `window` seconds (and only then, so hits
    never extend the window). Raises ThrottleUnavailable when Redis is down."""
    full_key = KEY_PREFIX + key
    try:
        with redis_client().pipeline(transaction=True) as pipe:
            pipe.set(full_key, 0, ex=window, nx=True)
            pipe.incr(full_key)
            pipe.ttl(full_key)
            _created, count, ttl = pipe.execute()
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return Window(count=int(count), retry_after=max(int(ttl), 1))


# Decrements only a key that still exists: a key recreated without its TTL would never expire.
_RELEASE = """
if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end
return 0
"""


def counter_release(key: str) -> None:
    """Gives one hit back (an attempt that turned out fine). Best effort, like counter_clear."""
    try:
        redis_client().eval(_RELEASE, 1, KEY_PREFIX + key)
    except redis.RedisError as exc:
        logger.warning("throttle counter not released (Redis): %s", exc)


def counter_clear(key: str) -> None:
    """Forgets a counter (a successful sign-in clears its account's failures). Best effort: a
    counter left behind expires with its window."""
    try:
        redis_client().delete(KEY_PREFIX + key)
    except redis.RedisError as exc:
        logger.warning("throttle counter not cleared (Redis): %s", exc)


def client_address(request: HttpRequest | Request) -> str:
    """The client's address: the header the gateway sets from the address it saw
    (CLIENT_ADDRESS_HEADER, e.g. X-Real-IP, which nginx overwrites), else the peer address.
    django-core is reached only through the gateway, so the header cannot be forged past it."""
    meta = request.META
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        value = meta.get("HTTP_" + header.upper().replace("-", "_"), "").strip()
        if value:
            return value[:64]
    return str(meta.get("REMOTE_ADDR") or "unknown")


class WriteRateThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (rates from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] by the view's
    `throttle_scope`) counted in Redis rather than Django's cache (not configured), for unsafe
    methods only: a view that lists and creates throttles the creating. Per user when signed
    in, else per client address."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None or self.duration is None:
            return True
        user = request.user
        ident = f"user:{user.pk}" if user and user.is_authenticated else f"addr:{client_address(request)}"
        window = counter_hit(f"rate:{self.scope}:{ident}", window=int(self.duration))
        self._retry_after = window.retry_after
        return window.count <= self.num_requests

    def wait(self) -> float | None:
        return float(self._retry_after)


def throttled(*, retry_after: int) -> exceptions.Throttled:
    return exceptions.Throttled(wait=retry_after, detail=_("Too many attempts; try again later."), code="throttled")
