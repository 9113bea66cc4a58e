"""Who may open a socket: a valid single-use ticket from an allowed origin, else close 4401."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from tests.fastapi_realtime.support import KEY_DIR, foreign_private_key, new_user_id, sign_ticket

UNAUTHORIZED = 4401


def test_a_good_ticket_opens_the_socket_with_hello(relay, sockets):
    user_id = new_user_id()

    sock = sockets.open(relay, sign_ticket(user_id))

    # A new user has no history yet: the socket starts at 0-0.
    assert sock.recv() == {"type": "hello", "user_id": user_id, "cursor": "0-0"}


def test_per_message_compression_is_off(relay, sockets):
    # The client offers permessage-deflate (websockets' default); the relay declines it.
    sock = sockets.open(relay, sign_ticket(new_user_id()))

    assert "Sec-WebSocket-Extensions" not in sock.connection.response.headers


def _claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_keyed_with_the_public_key(user_id: int) -> str:
    # The classic algorithm confusion: an HMAC "signed" with the (public) verification key.
    signing_input = (
        _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(json.dumps(_claims_of(sign_ticket(user_id))).encode())
    )
    signature = hmac.new((KEY_DIR / "jwt_public.pem").read_bytes(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def _unsigned(user_id: int) -> str:
    return jwt.encode(_claims_of(sign_ticket(user_id)), None, algorithm="none")


def _tampered(user_id: int) -> str:
    header, _, signature = sign_ticket(user_id).split(".")
    claims = {**_claims_of(sign_ticket(user_id)), "user_id": user_id + 1, "sub": str(user_id + 1)}
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _api_access_token(user_id: int) -> str:
    """What django-core's /api/auth/login hands out (simplejwt): audience `api`."""
    return sign_ticket(user_id, aud="api", token_type="access", exp=int(time.time()) + 600)


BAD_TICKETS = {
    "missing": lambda user_id: None,
    "garbage": lambda user_id: "not-a-jwt",
    "bad signature": lambda user_id: sign_ticket(user_id, key=foreign_private_key()),
    "tampered claims": _tampered,
    "expired": lambda user_id: sign_ticket(user_id, iat=int(time.time()) - 120, exp=int(time.time()) - 60),
    "issued in the future": lambda user_id: sign_ticket(
        user_id, iat=int(time.time()) + 600, exp=int(time.time()) + 630
    ),
    "foreign audience (an API access token)": _api_access_token,
    "no audience": lambda user_id: sign_ticket(user_id, aud=None),
    "wrong issuer": lambda user_id: sign_ticket(user_id, iss="someone-else"),
    "wrong token type": lambda user_id: sign_ticket(user_id, token_type="access"),
    "no jti": lambda user_id: sign_ticket(user_id, jti=None),
    "sub and user_id disagree": lambda user_id: sign_ticket(user_id, sub=str(user_id + 1)),
    "user_id not a number": lambda user_id: sign_ticket(user_id, user_id=str(user_id)),
    "valid far too long": lambda user_id: sign_ticket(user_id, exp=int(time.time()) + 3600),
    "alg none": _unsigned,
    "HS256 keyed with the public key": _hs256_keyed_with_the_public_key,
}


@pytest.mark.parametrize("make_ticket", list(BAD_TICKETS.values()), ids=list(BAD_TICKETS))
def test_a_bad_ticket_is_accepted_then_closed_with_4401(relay, sockets, make_ticket):
    sock = sockets.open(relay, make_ticket(new_user_id()))

    assert sock.close_code() == UNAUTHORIZED


def test_a_ticket_works_once(relay, sockets):
    ticket = sign_ticket(new_user_id())
    assert sockets.open(relay, ticket).recv()["type"] == "hello"

    replayed = sockets.open(relay, ticket)

    assert replayed.close_code() == UNAUTHORIZED


def test_a_ticket_used_on_one_instance_is_refused_by_another(relay, relay_b, sockets):
    ticket = sign_ticket(new_user_id())
    assert sockets.open(relay, ticket).recv()["type"] == "hello"

    assert sockets.open(relay_b, ticket).close_code() == UNAUTHORIZED


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:8080.evil.example", "null"])
def test_a_foreign_origin_is_closed_with_4401(relay, sockets, origin):
    sock = sockets.open(relay, sign_ticket(new_user_id()), origin=origin)

    assert sock.close_code() == UNAUTHORIZED


@pytest.mark.parametrize("origin", ["http://localhost:8080", "http://127.0.0.1:8080", None])
def test_the_gateway_origins_and_clients_without_origin_are_let_in(relay, sockets, origin):
    # Browsers always send Origin; native apps send none and still need a ticket.
    sock = sockets.open(relay, sign_ticket(new_user_id()), origin=origin)

    assert sock.recv()["type"] == "hello"


def test_a_refused_origin_does_not_use_up_the_ticket(relay, sockets):
    ticket = sign_ticket(new_user_id())
    assert sockets.open(relay, ticket, origin="http://evil.example").close_code() == UNAUTHORIZED

    assert sockets.open(relay, ticket).recv()["type"] == "hello"


def test_refusals_are_counted_by_reason(relay, sockets):
    before = relay.metrics().get('realtime_auth_failures_total{reason="expired_ticket"}', 0)

    sockets.open(relay, BAD_TICKETS["expired"](new_user_id())).close_code()

    assert relay.metrics()['realtime_auth_failures_total{reason="expired_ticket"}'] == before + 1


def test_tickets_stay_out_of_the_log(relay, sockets):
    # uvicorn logs a line per WebSocket handshake with its query string; the relay drops it.
    ticket = sign_ticket(new_user_id())
    sock = sockets.open(relay, ticket)
    assert sock.recv()["type"] == "hello"
    refused = sockets.open(relay, ticket)  # reused: refused after the handshake, logged the same way
    assert refused.close_code() == UNAUTHORIZED

    log = relay.log_path.read_text(errors="replace")
    assert ticket not in log
    assert "Application startup complete" in log  # the log is there, only the lines with tickets are not


def test_a_reused_ticket_is_counted_as_reused(relay, sockets):
    # The burn rides in the script that reads the new socket's history (after the subscription):
    # a second use is still refused with 4401, and counted under its own reason.
    before = relay.metrics().get('realtime_auth_failures_total{reason="reused_ticket"}', 0)
    user_id = new_user_id()
    ticket = sign_ticket(user_id)
    first = sockets.open(relay, ticket)
    assert first.recv()["type"] == "hello"

    assert sockets.open(relay, ticket).close_code() == UNAUTHORIZED

    assert relay.metrics()['realtime_auth_failures_total{reason="reused_ticket"}'] == before + 1
    # The first socket of the user is not disturbed by the refused one.
    first.send({"type": "ping"})
    assert first.recv() == {"type": "pong"}
