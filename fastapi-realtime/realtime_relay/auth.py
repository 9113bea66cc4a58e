"""Who may open a socket: a single-use ticket signed by django-core, from an allowed origin.

A ticket (django-core's realtime.services.realtime_ticket_issue) is an EdDSA JWT with
`aud=ws`, `iss=taskflow`, `token_type=ws_ticket`, `user_id`/`sub`, a unique `jti`, `iat` and an
`exp` at most a minute later. The relay holds only the public key: it can check a ticket, never
mint one. The first use burns the `jti` in Redis (SET NX with the ticket's remaining lifetime,
shared by every relay instance), so a replayed ticket is refused. The burn key is in the user's
hash slot (`user:{7}:ticket:<jti>`), so the burn is done by the script that reads the new
socket's history (history.read_history): one round trip per handshake instead of two.

The check is done here rather than through PyJWT's `jwt.decode`: it accepts exactly what
django-core signs (EdDSA, no critical header extensions) and checks the same claims PyJWT would
(required `exp`/`iat`/`aud`/`iss`/`jti`/`sub`, expiry and `iat`/`nbf` with the leeway, audience,
issuer, a string `sub` and `jti`), decoding each segment once. PyJWT's layers around the
signature check were about a third of a ticket check's CPU, a twentieth of a handshake's
(bench/realtime.py).
"""

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from taskflow_contracts.redis_layout import user_tag

TICKET_AUDIENCE = "ws"
TICKET_TYPE = "ws_ticket"
# django-core issues tickets for at most this long; anything longer was not made for a socket.
MAX_TICKET_LIFETIME = 60
# The only signing algorithm accepted: never "none", never an HMAC that could be keyed with the
# public key.
TICKET_ALGORITHM = "EdDSA"
# The protected header PyJWT writes for django-core's tickets, as it appears in the token: a
# ticket carrying it needs no header parsing.
_USUAL_HEADER = base64.urlsafe_b64encode(b'{"alg":"EdDSA","typ":"JWT"}').rstrip(b"=").decode()
_REQUIRED_CLAIMS = ("exp", "iat", "aud", "iss", "jti", "sub")


class TicketRejected(Exception):
    """The ticket is missing, forged, expired, for another audience or already used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Ticket:
    user_id: int
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class TicketBurn:
    """What burning a ticket writes: the key (in the user's hash slot) and how long it stays (as
    long as the ticket could still pass `verify`)."""

    key: str
    ttl: int


def ticket_burn_key(user_id: int, jti: str) -> str:
    return f"user:{user_tag(user_id)}:ticket:{jti}"


class TicketVerifier:
    def __init__(self, *, public_key: Ed25519PublicKey, issuer: str, leeway: int) -> None:
        # The signature is checked by libsodium (PyNaCl): half the CPU of cryptography's
        # Ed25519PublicKey.verify on this machine (~58 vs ~120 us), and the larger part of what a
        # ticket check costs.
        self._key = VerifyKey(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw))
        self._issuer = issuer
        self._leeway = leeway

    def verify(self, token: str | None) -> Ticket:
        """The ticket's claims after checking signature, algorithm, expiry, audience, issuer and
        type. Burning it is a separate step (`burn`)."""
        if not token:
            raise TicketRejected("missing_ticket")
        claims = self._claims(token)
        if claims.get("token_type") != TICKET_TYPE:
            raise TicketRejected("wrong_token_type")
        user_id, jti, iat, exp = claims.get("user_id"), claims["jti"], claims["iat"], claims["exp"]
        if type(user_id) is not int or user_id <= 0 or claims["sub"] != str(user_id):
            raise TicketRejected("invalid_ticket")
        if not isinstance(jti, str) or not 0 < len(jti) <= 64:
            raise TicketRejected("invalid_ticket")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > MAX_TICKET_LIFETIME:
            raise TicketRejected("invalid_ticket")
        return Ticket(user_id=user_id, jti=jti, issued_at=iat, expires_at=exp)

    def _claims(self, token: str) -> dict[str, Any]:
        """The payload of a ticket signed with the key, whose registered claims hold."""
        try:
            header, payload, signature = token.split(".")
            if header != _USUAL_HEADER:
                fields = json.loads(_b64decode(header))
                # Extensions a verifier must understand ("crit", RFC 7515), such as an unencoded
                # payload (RFC 7797), are not part of a ticket.
                if not isinstance(fields, dict) or fields.get("alg") != TICKET_ALGORITHM or "crit" in fields:
                    raise TicketRejected("invalid_ticket")
                if fields.get("b64", True) is not True:
                    raise TicketRejected("invalid_ticket")
            self._key.verify(f"{header}.{payload}".encode("ascii"), _b64decode(signature))
            claims = json.loads(_b64decode(payload))
        # binascii.Error and UnicodeError are ValueErrors, and so are PyNaCl's own for a
        # signature of the wrong length.
        except (ValueError, TypeError, BadSignatureError):
            raise TicketRejected("invalid_ticket") from None
        if not isinstance(claims, dict) or any(claims.get(name) is None for name in _REQUIRED_CLAIMS):
            raise TicketRejected("invalid_ticket")
        now = time.time()
        try:
            issued_at, expires_at = int(claims["iat"]), int(claims["exp"])
            not_before = int(claims["nbf"]) if "nbf" in claims else None
        except (ValueError, TypeError, OverflowError):
            raise TicketRejected("invalid_ticket") from None
        if issued_at > now + self._leeway or (not_before is not None and not_before > now + self._leeway):
            raise TicketRejected("invalid_ticket")  # not valid yet
        if expires_at <= now - self._leeway:
            raise TicketRejected("expired_ticket")
        if claims["iss"] != self._issuer:
            raise TicketRejected("invalid_ticket")
        audience = claims["aud"]
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
            raise TicketRejected("wrong_audience")
        if TICKET_AUDIENCE not in audiences:
            raise TicketRejected("wrong_audience")
        if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
            raise TicketRejected("invalid_ticket")
        return claims

    def burn(self, ticket: Ticket) -> TicketBurn:
        """How to mark the ticket used: for as long as it could still pass `verify`. The script
        that reads the new socket's history writes it (history.read_history), and refuses the
        socket when the key was there already."""
        ttl = max(1, ticket.expires_at + self._leeway - int(time.time()) + 1)
        return TicketBurn(key=ticket_burn_key(ticket.user_id, ticket.jti), ttl=ttl)


def _b64decode(segment: str) -> bytes:
    """A base64url segment without its padding, as JWS writes it."""
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def origin_allowed(origin: str | None, *, allowed: frozenset[str], allow_missing: bool) -> bool:
    """Browsers always send Origin: it must be one of the gateway's origins. Clients that are not
    browsers send none and are let through when `allow_missing` (they still need a ticket)."""
    if origin is None:
        return allow_missing
    return "*" in allowed or origin.rstrip("/") in allowed
