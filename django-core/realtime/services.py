"""WebSocket tickets for fastapi-realtime.

A ticket is a short-lived JWT signed with Django's Ed25519 private key; the relay holds only the
public key, so it can verify a ticket but never mint one. It is single-use: the relay burns its
`jti` in Redis on first use.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.utils import timezone

from accounts.models import User

TICKET_AUDIENCE = "ws"
TICKET_TYPE = "ws_ticket"


@dataclass(frozen=True)
class Ticket:
    ticket: str
    expires_in: int


def realtime_ticket_issue(*, user: User) -> Ticket:
    """Signs a ticket for `user` valid for REALTIME_TICKET_TTL seconds (at most 60)."""
    now = timezone.now()
    ttl = settings.REALTIME_TICKET_TTL
    claims = {
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "aud": TICKET_AUDIENCE,
        "token_type": TICKET_TYPE,
        "sub": str(user.pk),
        "user_id": user.pk,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
    }
    return Ticket(ticket=jwt.encode(claims, settings.JWT_PRIVATE_KEY, algorithm="EdDSA"), expires_in=ttl)
