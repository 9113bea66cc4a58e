"""Create the development Ed25519 key pair for JWTs under var/keys/ when none exists.

Django signs access tokens and WebSocket tickets with the private key; the realtime relay gets
only the public key. Production never uses this pair (settings refuse it): provide your own via
JWT_PRIVATE_KEY_FILE / JWT_PUBLIC_KEY_FILE.
"""

import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def ensure_keys(directory: Path) -> bool:
    """Write the pair when missing; True when a new pair was created."""
    private_path = directory / "jwt_private.pem"
    public_path = directory / "jwt_public.pem"
    if private_path.is_file() and public_path.is_file():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.write_bytes(private_pem)
    private_path.chmod(0o600)
    public_path.write_bytes(public_pem)
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "var" / "keys"
    if ensure_keys(target):
        print(f"==> Created a development JWT key pair (Ed25519) in {target}")
    else:
        print(f"==> JWT key pair present in {target}")
