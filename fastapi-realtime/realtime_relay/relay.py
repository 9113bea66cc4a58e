"""The parts of one relay process, built once by the app factory and shared by the routes."""

import os
import secrets
import socket
from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from realtime_relay.auth import TicketVerifier
from realtime_relay.config import Settings
from realtime_relay.history import CatchUp
from realtime_relay.hub import Hub
from realtime_relay.metrics import Metrics
from realtime_relay.presence import Presence
from realtime_relay.publisher import AlertPublisher
from realtime_relay.subscriber import Subscriber


@dataclass
class Relay:
    settings: Settings
    instance: str
    metrics: Metrics
    hub: Hub
    redis: Redis
    verifier: TicketVerifier
    catch_up: CatchUp
    presence: Presence
    subscriber: Subscriber
    publisher: AlertPublisher


def relay_build(settings: Settings) -> Relay:
    """Wires the parts; nothing connects until the subscriber is started (lifespan)."""
    instance = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    metrics = Metrics()
    hub = Hub(metrics)
    # A blocking pool: a burst of handshakes (ticket burn, history, presence) waits for a free
    # connection instead of failing with "Too many connections" (which closed sockets with 1013).
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_socket_timeout,
        decode_responses=True,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
    )
    redis = Redis(connection_pool=pool)
    catch_up = CatchUp(
        redis=redis, hub=hub, metrics=metrics, limit=settings.max_replay, replay_timeout=settings.ws_close_timeout
    )

    async def resume_after_outage(subscriber: Subscriber) -> None:
        async def subscribed(user_id: int) -> bool:
            return await subscriber.wait_subscribed(user_id, timeout=settings.ws_subscribe_timeout)

        await catch_up.resume_all(subscribed)

    subscriber = Subscriber(
        redis_url=settings.redis_url,
        hub=hub,
        metrics=metrics,
        connect_timeout=settings.redis_socket_timeout,
        heartbeat_interval=settings.redis_heartbeat_interval,
        backoff_initial=settings.redis_backoff_initial,
        backoff_max=settings.redis_backoff_max,
        on_session_lost=hub.suspend,
        on_session_ready=resume_after_outage,
    )
    return Relay(
        settings=settings,
        instance=instance,
        metrics=metrics,
        hub=hub,
        redis=redis,
        verifier=TicketVerifier(
            public_key=settings.public_key, issuer=settings.jwt_issuer, leeway=settings.ticket_leeway
        ),
        catch_up=catch_up,
        presence=Presence(redis=redis, instance=instance, ttl=settings.realtime_presence_ttl),
        subscriber=subscriber,
        publisher=AlertPublisher(
            redis=redis, history_length=settings.realtime_history_length, history_ttl=settings.realtime_history_ttl
        ),
    )
