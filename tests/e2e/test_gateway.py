"""What the gateway itself promises, checked on the running stack: routing, security headers,
request ids, access logs without secrets, rate and connection limits, JSON errors when a service
is down, static files served by nginx."""

import http.client
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from websockets.exceptions import InvalidStatus

from tests.e2e.client import Socket, sign_up
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

API_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_api_and_relay_answer_on_one_origin_with_security_headers(stack: Stack) -> None:
    url = stack.gateways["single"].url

    api = requests.get(f"{url}/api/health", timeout=10)
    relay = requests.get(f"{url}/ws/health", timeout=10)
    admin = requests.get(f"{url}/admin/login/", timeout=10)

    assert api.status_code == 200
    assert api.json()["checks"] == {"database": "ok", "redis": "ok"}
    assert relay.status_code == 200
    assert relay.json()["checks"]["redis"] == "ok"
    assert admin.status_code == 200
    assert "csrfmiddlewaretoken" in admin.text
    for response in (api, relay, admin):
        for name, value in SECURITY_HEADERS.items():
            # Exactly one value each: django-core's own copies are hidden behind the gateway's.
            assert response.headers.get(name) == value, (response.url, name, response.headers.get(name))
        assert response.headers["Server"] == "nginx"  # no version
    assert api.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_swagger_ui_and_web_client_are_served(stack: Stack) -> None:
    url = stack.gateways["single"].url

    docs = requests.get(f"{url}/api/docs", timeout=10)
    home = requests.get(f"{url}/", timeout=10)

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    # The Swagger UI page runs only this origin's scripts: vendored, no CDN, one strict policy.
    assert docs.headers["Content-Security-Policy"] == API_DOCS_CSP
    scripts = re.findall(r'<script src="([^"]+)"', docs.text)
    assert scripts
    assert all(src.startswith("/") and not src.startswith("//") for src in scripts), scripts
    for src in scripts:
        script = requests.get(f"{url}{src}", timeout=10)
        assert script.status_code == 200, src
        assert "javascript" in script.headers["Content-Type"], src
    assert home.status_code == 200
    assert home.headers["Content-Type"].startswith("text/html")
    assert "/api/docs" in home.text


def test_static_files_are_served_by_nginx_from_static_root(stack: Stack) -> None:
    response = requests.get(f"{stack.gateways['single'].url}/static/admin/css/base.css", timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    # The gateway's caching header, not WhiteNoise's: the request never reached django-core.
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (stack.work_dir / "static" / "admin" / "css" / "base.css").read_bytes() == response.content


def test_request_id_is_kept_when_well_formed_and_made_otherwise(stack: Stack) -> None:
    gateway = stack.gateways["single"]
    mine = f"e2e-{uuid.uuid4()}"

    kept = requests.get(f"{gateway.url}/api/health", headers={"X-Request-ID": mine}, timeout=10)
    made = requests.get(f"{gateway.url}/api/health", timeout=10)
    replaced = requests.get(f"{gateway.url}/api/health", headers={"X-Request-ID": "bad id\twith spaces"}, timeout=10)

    assert kept.headers["X-Request-ID"] == mine
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    assert f"request_id={mine}" in gateway.access_log.read_text()


def test_access_log_never_holds_tickets_or_tokens(stack: Stack) -> None:
    gateway = stack.gateways["single"]
    person = sign_up(gateway.url, "logged")
    socket = Socket.open(person, gateway.ws_url)
    secret = f"query-secret-{uuid.uuid4().hex}"
    referer_secret = f"referer-secret-{uuid.uuid4().hex}"

    requests.get(
        f"{gateway.url}/api/health?token={secret}",
        headers={"Referer": f"{gateway.url}/invites/accept?token={referer_secret}"},
        timeout=10,
    )
    socket.close()

    log = gateway.access_log.read_text()
    assert "GET /ws/notifications?(query hidden) HTTP/1.1" in log
    assert "GET /api/health?(query hidden) HTTP/1.1" in log
    assert "ticket=" not in log
    assert "token=" not in log
    assert secret not in log
    assert referer_secret not in log
    assert person.access not in log


def test_auth_endpoints_are_rate_limited_per_address(stack: Stack) -> None:
    url = stack.gateways["limits"].url

    def refresh(_: int) -> requests.Response:
        return requests.post(f"{url}/api/auth/refresh", json={"refresh": "not-a-token"}, timeout=10)

    # When far more than the burst (20) arrive at once
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(refresh, range(60)))

    # Then the burst gets through to django-core and the rest are refused, as JSON
    statuses = [response.status_code for response in responses]
    assert statuses.count(401) >= 20, statuses
    throttled = [response for response in responses if response.status_code == 429]
    assert throttled, statuses
    assert throttled[0].json() == {"detail": "Too many requests; retry shortly.", "code": "throttled"}
    assert throttled[0].headers["Retry-After"] == "1"
    assert throttled[0].headers["Content-Type"].startswith("application/json")
    # And the rest of the API is not limited by it
    assert requests.get(f"{url}/api/health", timeout=10).status_code == 200


def test_admin_sign_in_is_rate_limited_per_address_like_the_api(stack: Stack) -> None:
    url = stack.gateways["limits"].url

    def sign_in_page(_: int) -> requests.Response:
        return requests.get(f"{url}/admin/login/", timeout=10)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(sign_in_page, range(60)))

    # (the zone is /api/auth/'s: an earlier test may have used up this address's burst)
    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {200, 429}, statuses
    throttled = [response for response in responses if response.status_code == 429]
    assert throttled, statuses
    assert throttled[0].json()["code"] == "throttled"
    assert throttled[0].headers["Retry-After"] == "1"


def test_websocket_connections_per_address_are_limited(stack: Stack) -> None:
    gateway = stack.gateways["limits"]  # GATEWAY_WS_CONNECTIONS_PER_IP=3
    # Signed up through another gateway: test_auth_endpoints_are_rate_limited_per_address may just
    # have emptied this one's /api/auth/* bucket. Everything after goes through `limits`.
    person = sign_up(stack.gateways["single"].url, "many-tabs")
    person.base_url = gateway.url
    sockets = [Socket.open(person, gateway.ws_url) for _ in range(3)]
    try:
        # When a fourth socket is opened from the same address, the handshake is refused
        with pytest.raises(InvalidStatus) as refused:
            Socket.open(person, gateway.ws_url)
        assert refused.value.response.status_code == 429

        # When one closes, there is room again
        sockets.pop().close()
        sockets.append(Socket.open(person, gateway.ws_url))
        assert sockets[-1].hello["user_id"] == person.id
    finally:
        for socket in sockets:
            socket.close()


def test_websocket_handshakes_per_address_are_rate_limited(stack: Stack) -> None:
    url = stack.gateways["single"].url  # 10 handshakes/s, bursts of 40

    def handshake(_: int) -> int:
        # A handshake without a ticket: the relay would accept and close it with 4401; here only
        # the gateway's answer to the upgrade request matters.
        headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
        headers["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
        with requests.get(f"{url}/ws/notifications", headers=headers, timeout=10, stream=True) as response:
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(handshake, range(100)))

    assert statuses.count(101) >= 30, statuses  # about the burst
    assert 429 in statuses, statuses


def test_services_down_give_json_errors_not_html(stack: Stack) -> None:
    url = stack.gateways["dead"].url  # nothing listens behind it

    for method, path in (("GET", "/api/health"), ("POST", "/api/auth/login"), ("GET", "/ws/health")):
        response = requests.request(method, f"{url}{path}", json={}, timeout=10)
        assert response.status_code == 502, (path, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json() == {"detail": "The service is unavailable; retry shortly.", "code": "bad_gateway"}
        assert response.headers["Retry-After"] == "5"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_django_errors_pass_through_unchanged(stack: Stack) -> None:
    url = stack.gateways["single"].url

    missing = requests.get(f"{url}/api/no-such-thing", timeout=10)
    unauthenticated = requests.get(f"{url}/api/tasks", timeout=10)

    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "not_authenticated"


def test_oversized_bodies_are_refused_as_json(stack: Stack) -> None:
    response = requests.post(
        f"{stack.gateways['single'].url}/api/tasks",
        data=b"x" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_relay_metrics_are_not_published_through_the_gateway(stack: Stack) -> None:
    response = requests.get(f"{stack.gateways['single'].url}/ws/metrics", timeout=10)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_internal_api_is_not_routed_from_outside(stack: Stack) -> None:
    # given the right service token, even
    headers = {"X-Service-Token": "dev-insecure-telegram-token-change-me", "X-Telegram-Chat-Id": "1"}
    for path in ("/internal/telegram/chat", "/internal/telegram/deliveries/claim", "/internal/"):
        response = requests.post(
            f"{stack.gateways['single'].url}{path}", headers=headers, json={"ids": [1]}, timeout=10
        )

        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_django_core_keeps_an_idle_connection_longer_than_the_gateway_pools_it(stack: Stack) -> None:
    """gunicorn (django-core/gunicorn.conf.py) must never close an idle keep-alive connection
    before nginx drops it from its upstream pool (60 s): otherwise a POST nginx sends on it as it
    closes is a 502. Checked on gunicorn itself: a second request on one connection after 3 s
    idle (gunicorn's default keep-alive is 2 s)."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.django_port, timeout=10)
    try:
        connection.request("GET", "/api/health")
        first = connection.getresponse()
        first.read()
        assert first.status == 200
        assert (first.getheader("Connection") or "").lower() != "close"
        time.sleep(3)
        connection.request("GET", "/api/health")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
    finally:
        connection.close()
