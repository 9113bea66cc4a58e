"""Dependencies of the routes, as `Annotated[..., Depends()]` aliases."""

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, status
from redis.asyncio import Redis
from starlette.requests import HTTPConnection

from realtime_relay.config import Settings
from realtime_relay.hub import Hub
from realtime_relay.metrics import Metrics
from realtime_relay.relay import Relay


def get_relay(connection: HTTPConnection) -> Relay:
    relay: Relay = connection.app.state.relay
    return relay


RelayDep = Annotated[Relay, Depends(get_relay)]


def get_settings(relay: RelayDep) -> Settings:
    return relay.settings


def get_hub(relay: RelayDep) -> Hub:
    return relay.hub


def get_metrics(relay: RelayDep) -> Metrics:
    return relay.metrics


def get_redis(relay: RelayDep) -> Redis:
    return relay.redis


SettingsDep = Annotated[Settings, Depends(get_settings)]
HubDep = Annotated[Hub, Depends(get_hub)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RedisDep = Annotated[Redis, Depends(get_redis)]


def require_service_token(settings: SettingsDep, x_service_token: Annotated[str | None, Header()] = None) -> None:
    """Internal endpoints: the shared secret in `X-Service-Token`, compared in constant time."""
    expected = settings.realtime_service_token.encode()
    if x_service_token is None or not hmac.compare_digest(x_service_token.encode(), expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="A valid X-Service-Token header is required.")


ServiceTokenDep = Annotated[None, Depends(require_service_token)]
