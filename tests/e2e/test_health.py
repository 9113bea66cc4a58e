"""The public health answers (`/api/health`, `/ws/health`, routed to anyone by the gateway) say
whether the service works in fixed words, never where its dependencies are: no host name, port,
IP address or exception text, with the database and Redis up as well as down (issue 18). The
detail stays on what the gateway does not route (`/internal/ready`, `/ws/internal/health`)."""

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.stack import Gateway, Stack, free_port

pytestmark = pytest.mark.e2e

PUBLIC_PATHS = ("/api/health", "/ws/health")
# Every key a public body may have, and the only words its strings may be.
PUBLIC_KEYS = {"status", "checks", "database", "redis", "subscription", "connections", "users"}
PUBLIC_WORDS = {"ok", "unavailable", "reconnecting"}


def _leaves(body: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(body, dict):
        for name, value in body.items():
            yield from _leaves(value, name)
    else:
        yield key, body


def assert_tells_nothing_about_where(response: requests.Response, *, ports: list[int]) -> None:
    text = response.text
    for leaked in ("127.0.0.1", "localhost", "redis://", "postgres", "error", "Error", *map(str, ports)):
        assert leaked not in text, (response.url, leaked, text)
    body = response.json()
    assert set(body) <= PUBLIC_KEYS, (response.url, text)
    assert set(body["checks"]) <= PUBLIC_KEYS, (response.url, text)
    for key, value in _leaves(body):
        if key in ("connections", "users"):
            assert isinstance(value, int), (response.url, key, value)
        else:
            assert value in PUBLIC_WORDS, (response.url, key, value)


@pytest.fixture
def dependencies_down(stack: Stack) -> Iterator[tuple[Gateway, list[int]]]:
    """A gateway in front of a django-core whose database and Redis are down and a relay whose
    Redis is down (ports where nothing listens), and every port involved; stopped and forgotten
    afterwards."""
    database_port, redis_port, django_port = free_port(), free_port(), free_port()
    down = {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{database_port}/taskflow",
        "DATABASE_CONNECT_TIMEOUT": "1",
        "DATABASE_POOL_TIMEOUT": "1",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    started = len(stack.processes)
    stack.plan_gateway("deps-down")
    try:
        stack.start_django("django-deps-down", port=django_port, workers=1, **down)
        relay = stack.start_relay("deps-down", REDIS_URL=down["REDIS_URL"])
        gateway = stack.start_gateway(
            "deps-down", realtime=[f"127.0.0.1:{relay.port}"], django=f"127.0.0.1:{django_port}"
        )
        stack.wait_ready(f"{gateway.url}/api/health", what="django-core without its dependencies", status=503)
        stack.wait_ready(f"{gateway.url}/ws/health", what="the relay without Redis", status=503)
        yield gateway, [database_port, redis_port, django_port, relay.port]
    finally:
        for process in reversed(stack.processes[started:]):
            process.stop()
        stack.relays.pop("deps-down", None)
        stack.gateways.pop("deps-down", None)


def test_public_health_names_no_host_while_everything_is_up(stack: Stack) -> None:
    gateway = stack.gateways["single"]
    ports = [stack.django_port, *(relay.port for relay in stack.relays.values()), 5432, 6379]

    for path in PUBLIC_PATHS:
        response = requests.get(f"{gateway.url}{path}", timeout=10)

        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == "ok"
        assert_tells_nothing_about_where(response, ports=ports)


def test_public_health_names_no_host_nor_error_while_the_database_and_redis_are_down(
    dependencies_down: tuple[Gateway, list[int]],
) -> None:
    gateway, ports = dependencies_down

    api = requests.get(f"{gateway.url}/api/health", timeout=10)
    relay = requests.get(f"{gateway.url}/ws/health", timeout=10)

    assert api.status_code == 503
    assert api.json() == {"status": "unavailable", "checks": {"database": "unavailable", "redis": "unavailable"}}
    assert relay.status_code == 503
    assert relay.json()["checks"]["redis"] == "unavailable"
    for response in (api, relay):
        assert_tells_nothing_about_where(response, ports=ports)


def test_operators_read_the_detail_on_the_services_own_ports_not_through_the_gateway(stack: Stack) -> None:
    relay = stack.relays["a"]

    internal = requests.get(f"http://127.0.0.1:{relay.port}/ws/internal/health", timeout=5)
    through_gateway = [
        requests.get(f"{stack.gateways['single'].url}{path}", timeout=5)
        for path in ("/ws/internal/health", "/ws/internal/", "/ws//internal/health", "/ws/%69nternal/health")
    ]

    assert internal.status_code == 200
    assert internal.json()["links"] == {"primary": True}
    assert internal.json()["instance"]
    for response in through_gateway:
        assert response.status_code == 404, (response.url, response.text)
        assert "links" not in response.text
        assert "instance" not in response.text
