"""The parts of one relay process, built once by the app factory and shared by the routes."""

import asyncio
import os
import secrets
import socket
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from taskflow_contracts import async_client

from realtime_relay.auth import TicketVerifier
from realtime_relay.config import Settings
from realtime_relay.history import CATCH_UP_CONCURRENCY, CatchUp
from realtime_relay.hub import Hub
from realtime_relay.logs import traced
from realtime_relay.metrics import Metrics
from realtime_relay.presence import Presence
from realtime_relay.publisher import AlertPublisher
from realtime_relay.subscriber import Subscriber

# Command connections beyond REDIS_MAX_CONNECTIONS: presence refreshes and the like.
SPARE_CONNECTIONS = 8


@dataclass
class Relay:
    settings: Settings
    instance: str
    metrics: Metrics
    hub: Hub
    # A single node's or Sentinel's client, or a RedisCluster (the same commands: every key and
    # script of the relay stays in one hash slot).
    redis: Redis
    # Handshakes (ticket burn, history), alerts and health checks take one to use `redis`.
    redis_slots: asyncio.Semaphore
    verifier: TicketVerifier
    catch_up: CatchUp
    presence: Presence
    subscriber: Subscriber
    publisher: AlertPublisher


def redis_commands(settings: Settings) -> Redis:
    """The command client (ticket burns, history reads, presence, alerts) on the configured
    topology. Its pool is not what bounds the connections: `Relay.redis_slots` is (a burst of
    handshakes waits for a slot instead of failing with "Too many connections", which closed
    sockets with 1013); catch-ups after an outage take at most CATCH_UP_CONCURRENCY more."""
    client: Redis = async_client(
        settings.topology,
        max_connections=settings.redis_max_connections + CATCH_UP_CONCURRENCY + SPARE_CONNECTIONS,
        decode_responses=True,
        socket_timeout=settings.redis_socket_timeout,
        socket_connect_timeout=settings.redis_socket_timeout,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
    )
    return client


def relay_build(settings: Settings) -> Relay:
    """Wires the parts; nothing connects until the subscriber is started (lifespan)."""
    instance = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    metrics = Metrics()
    hub = Hub(metrics)
    redis = redis_commands(settings)
    redis_slots = asyncio.Semaphore(settings.redis_max_connections)
    catch_up = CatchUp(
        redis=redis,
        redis_slots=redis_slots,
        hub=hub,
        metrics=metrics,
        limit=settings.max_replay,
        replay_timeout=settings.ws_close_timeout,
    )

    async def subscribed(user_id: int) -> bool:
        return await subscriber.wait_subscribed(user_id, timeout=settings.ws_subscribe_timeout)

    subscriber = Subscriber(
        topology=settings.topology,
        metrics=metrics,
        connect_timeout=settings.redis_socket_timeout,
        heartbeat_interval=settings.redis_heartbeat_interval,
        backoff_initial=settings.redis_backoff_initial,
        backoff_max=settings.redis_backoff_max,
        # Live frames lose the request id django-core put first (realtime_relay.logs).
        deliver=traced(hub.deliver),
        on_lost=catch_up.suspend,
        on_resubscribing=lambda user_ids: catch_up.resume(user_ids, subscribed),
    )
    return Relay(
        settings=settings,
        instance=instance,
        metrics=metrics,
        hub=hub,
        redis=redis,
        redis_slots=redis_slots,
        verifier=TicketVerifier(
            public_key=settings.public_key, issuer=settings.jwt_issuer, leeway=settings.ticket_leeway
        ),
        catch_up=catch_up,
        presence=Presence(
            redis=redis,
            redis_slots=redis_slots,
            instance=instance,
            ttl=settings.realtime_presence_ttl,
            holds=hub.holds,
        ),
        subscriber=subscriber,
        publisher=AlertPublisher(
            redis=redis, history_length=settings.realtime_history_length, history_ttl=settings.realtime_history_ttl
        ),
    )
