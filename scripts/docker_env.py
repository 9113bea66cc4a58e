"""Adds the secrets docker-compose.yml requires to .env, when missing: POSTGRES_PASSWORD,
REDIS_PASSWORD, DJANGO_SECRET_KEY, REALTIME_SERVICE_TOKEN (random) and an Ed25519 JWT key pair
(DOCKER_JWT_PRIVATE_KEY / DOCKER_JWT_PUBLIC_KEY, one line each with \\n for newlines; the
native `make run` keeps using var/keys/). Values already set in .env are kept; empty ones and the
development placeholders are replaced.

    python scripts/docker_env.py [path/to/.env]
"""

import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def one_line(pem: bytes) -> str:
    return pem.decode().strip().replace("\n", "\\n")


PLACEHOLDERS = {"", "dev-insecure-secret-key-change-me", "dev-insecure-realtime-token-change-me"}


def missing_values(present: dict[str, str]) -> dict[str, str]:
    """New values for the secrets that are absent, empty or the development placeholders."""

    def needed(name: str) -> bool:
        return present.get(name, "") in PLACEHOLDERS

    values: dict[str, str] = {}
    for name, make in (
        ("POSTGRES_PASSWORD", lambda: secrets.token_urlsafe(24)),
        # URL-safe: it goes into every redis:// URL as it is.
        ("REDIS_PASSWORD", lambda: secrets.token_urlsafe(24)),
        ("DJANGO_SECRET_KEY", lambda: secrets.token_urlsafe(50)),
        ("REALTIME_SERVICE_TOKEN", lambda: secrets.token_urlsafe(32)),
        ("TELEGRAM_SERVICE_TOKEN", lambda: secrets.token_urlsafe(32)),
    ):
        if needed(name):
            values[name] = make()
    if needed("DOCKER_JWT_PRIVATE_KEY") or needed("DOCKER_JWT_PUBLIC_KEY"):
        key = Ed25519PrivateKey.generate()
        values["DOCKER_JWT_PRIVATE_KEY"] = one_line(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        values["DOCKER_JWT_PUBLIC_KEY"] = one_line(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return values


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / ".env"
    lines = path.read_text().splitlines() if path.is_file() else []
    present: dict[str, str] = {}
    for line in lines:
        if "=" in line and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            present.setdefault(name.strip(), value.strip())
    values = missing_values(present)
    if not values:
        print(f"==> {path} already has every secret docker-compose.yml needs")
        return 0
    # Empty or placeholder lines (e.g. from a copied .env.example) are replaced where they are.
    pending = dict(values)
    for index, line in enumerate(lines):
        name = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith("#") else ""
        if name in pending:
            lines[index] = f"{name}={pending.pop(name)}"
    if pending:
        lines += ["", "# Secrets for docker compose (written by `make docker-env`; keep this file private)."]
        lines += [f"{name}={value}" for name, value in pending.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    print(f"==> Wrote {', '.join(values)} to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
