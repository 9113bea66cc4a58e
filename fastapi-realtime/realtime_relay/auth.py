"""Who may open a socket: a single-use ticket signed by django-core, from an allowed origin.

A ticket (django-core's realtime.services.realtime_ticket_issue) is an EdDSA JWT with
`aud=ws`, `iss=taskflow`, `token_type=ws_ticket`, `user_id`/`sub`, a unique `jti`, `iat` and an
`exp` at most a minute later. The relay holds only the public key: it can check a ticket, never
mint one. The first use burns the `jti` in Redis (SET NX with the ticket's remaining lifetime,
shared by every relay instance), so a replayed ticket is refused.
"""

import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from redis.asyncio import Redis

TICKET_AUDIENCE = "ws"
TICKET_TYPE = "ws_ticket"
# django-core issues tickets for at most this long; anything longer was not made for a socket.
MAX_TICKET_LIFETIME = 60


class TicketRejected(Exception):
    """The ticket is missing, forged, expired, for another audience or already used."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Ticket:
    user_id: int
    jti: str
    issued_at: int
    expires_at: int


def ticket_burn_key(jti: str) -> str:
    return f"ws:ticket:{jti}"


class TicketVerifier:
    def __init__(self, *, public_key: Ed25519PublicKey, issuer: str, leeway: int) -> None:
        self._key = public_key
        self._issuer = issuer
        self._leeway = leeway

    def verify(self, token: str | None) -> Ticket:
        """The ticket's claims after checking signature, algorithm, expiry, audience, issuer and
        type. Burning it is a separate step (`burn`)."""
        if not token:
            raise TicketRejected("missing_ticket")
        try:
            claims = jwt.decode(
                token,
                self._key,
                # Only the algorithm django-core signs with: never "none", never an HMAC that could
                # be keyed with the public key.
                algorithms=["EdDSA"],
                audience=TICKET_AUDIENCE,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "aud", "iss", "jti", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TicketRejected("expired_ticket") from None
        except jwt.InvalidAudienceError:
            raise TicketRejected("wrong_audience") from None
        except jwt.PyJWTError:
            raise TicketRejected("invalid_ticket") from None
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

    async def burn(self, redis: Redis, ticket: Ticket) -> None:
        """Marks the ticket used for as long as it could still pass `verify`; raises
        TicketRejected when it was used before (RedisError when Redis is unreachable)."""
        ttl = max(1, ticket.expires_at + self._leeway - int(time.time()) + 1)
        if not await redis.set(ticket_burn_key(ticket.jti), ticket.user_id, nx=True, ex=ttl):
            raise TicketRejected("reused_ticket")


def origin_allowed(origin: str | None, *, allowed: frozenset[str], allow_missing: bool) -> bool:
    """Browsers always send Origin: it must be one of the gateway's origins. Clients that are not
    browsers send none and are let through when `allow_missing` (they still need a ticket)."""
    if origin is None:
        return allow_missing
    return "*" in allowed or origin.rstrip("/") in allowed
