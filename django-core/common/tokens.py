"""Secrets handed out by link or mail (invite, Telegram link, email verification and password
reset tokens) are stored only as this digest, looked up by it."""

import hashlib


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()
