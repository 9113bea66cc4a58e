"""Settings, from the environment only (and `.env` at the repository root when present, the
same file django-core reads; values already in the environment win).

Production (`ENV` or `DJANGO_ENV` = `production`) refuses to start on a placeholder service
token or on the development key pair under var/keys/.
"""

from functools import cached_property, lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from taskflow_contracts import HISTORY_LENGTH, TOPOLOGY_VARIABLES, RedisTopology

REPO_DIR = Path(__file__).resolve().parents[2]
DEV_KEY_DIR = REPO_DIR / "var" / "keys"
PLACEHOLDER_SERVICE_TOKEN = "dev-insecure-realtime-token-change-me"  # noqa: S105 (refused in production)


class ConfigurationError(RuntimeError):
    """The relay cannot start with this configuration."""


def repo_path(value: str) -> Path:
    """Relative paths in the environment are relative to the repository root."""
    path = Path(value)
    return path if path.is_absolute() else REPO_DIR / path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_DIR / ".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    env: str = Field(default="development", validation_alias=AliasChoices("ENV", "DJANGO_ENV"))
    # Where the realtime data lives (docs/scaling.md, "Redis"; the same variables django-core and
    # the bot read): a single node, Sentinel's primary, or a Redis Cluster (see `topology`).
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: str = ""
    redis_sentinel_master: str = ""
    redis_sentinel_password: str = ""
    redis_cluster_url: str = ""
    # Each Redis command times out after this many seconds; the pub/sub connection is watched by
    # its own heartbeat instead.
    redis_socket_timeout: float = Field(default=2.0, gt=0)
    # Command connections (ticket burns, history reads, presence); more requests wait for one.
    redis_max_connections: int = Field(default=64, ge=4)
    redis_heartbeat_interval: float = Field(default=5.0, gt=0)
    redis_backoff_initial: float = Field(default=0.1, gt=0)
    redis_backoff_max: float = Field(default=5.0, gt=0)

    # The PEM public key inline (newlines may be written as \n), else read from the file.
    jwt_public_key: str = ""
    jwt_public_key_file: str = "var/keys/jwt_public.pem"
    jwt_issuer: str = "taskflow"
    # Tolerated clock difference between django-core (which signs) and the relay, in seconds.
    ticket_leeway: int = Field(default=5, ge=0, le=30)

    ws_allowed_origins: str = "http://localhost:8080,http://127.0.0.1:8080"
    # Browsers always send Origin; native apps and servers usually do not. Such clients still
    # need a ticket, so they are allowed unless this is turned off.
    ws_allow_missing_origin: bool = True

    # Shared secret of POST /notify/deadline (header X-Service-Token).
    realtime_service_token: str = PLACEHOLDER_SERVICE_TOKEN

    # Frames waiting for one socket; a socket whose queue overflows is dropped (close 4408).
    ws_queue_size: int = Field(default=256, ge=4)
    # Largest client message (bytes) the relay reads; bigger ones close the socket with 1009.
    ws_max_message_bytes: int = Field(default=4096, ge=64)
    # Protocol-level pings (passed to uvicorn by `python -m realtime_relay` and the Procfile).
    ws_ping_interval: float = Field(default=20.0, gt=0)
    ws_ping_timeout: float = Field(default=20.0, gt=0)
    # How long a closing handshake may take before the socket is cut.
    ws_close_timeout: float = Field(default=5.0, gt=0)
    # How long a new socket waits for its Redis subscription before giving up (close 1013).
    ws_subscribe_timeout: float = Field(default=5.0, gt=0)
    # On SIGTERM/SIGINT: close every socket with 1001 and wait at most this long for them.
    ws_drain_timeout: float = Field(default=5.0, ge=0)

    # Per-user history kept by the publishers (the same variables django-core reads).
    realtime_history_length: int = Field(default=HISTORY_LENGTH, ge=1)
    realtime_history_ttl: int = Field(default=3 * 24 * 3600, ge=60)

    realtime_presence_ttl: int = Field(default=60, ge=3)

    realtime_host: str = "127.0.0.1"
    realtime_port: int = Field(default=8001, ge=1, le=65535)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @cached_property
    def topology(self) -> RedisTopology:
        """Cluster when REDIS_CLUSTER_URL is set, else Sentinel when REDIS_SENTINELS is, else the
        single node of REDIS_URL."""
        return RedisTopology.from_env({name: getattr(self, name.lower()) for name in TOPOLOGY_VARIABLES})

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.ws_allowed_origins.split(",") if o.strip())

    @cached_property
    def max_replay(self) -> int:
        """Entries replayed at most on one reconnect (the stream is trimmed approximately, so a
        little over the history length); a longer gap gets `resync`."""
        return 2 * self.realtime_history_length + 100

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        if self.jwt_public_key:
            pem = self.jwt_public_key.replace("\\n", "\n")
        else:
            path = repo_path(self.jwt_public_key_file)
            if not path.is_file():
                raise ConfigurationError(
                    f"No JWT public key at {path}. Set JWT_PUBLIC_KEY_FILE (or JWT_PUBLIC_KEY inline); "
                    "on a developer machine `make keys` creates a pair under var/keys/."
                )
            pem = path.read_text()
        key = load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigurationError("JWT_PUBLIC_KEY must be an Ed25519 public key (tickets are EdDSA).")
        return key

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.env not in {"development", "test", "production"}:
            raise ValueError(f"ENV/DJANGO_ENV must be development, test or production, not {self.env!r}")
        if self.redis_backoff_max < self.redis_backoff_initial:
            raise ValueError("REDIS_BACKOFF_MAX must not be below REDIS_BACKOFF_INITIAL")
        _ = self.topology  # REDIS_SENTINELS without a master name, or not host:port: refused now
        if self.is_production:
            token = self.realtime_service_token
            if token == PLACEHOLDER_SERVICE_TOKEN or len(token) < 32:
                raise ValueError(
                    "REALTIME_SERVICE_TOKEN is a placeholder or shorter than 32 characters; set a long "
                    "random value shared with django-core (e.g. `python -c 'import secrets; "
                    "print(secrets.token_urlsafe(40))'`)."
                )
            if not self.jwt_public_key and repo_path(self.jwt_public_key_file).parent == DEV_KEY_DIR:
                raise ValueError(
                    "Production needs its own JWT key pair: set JWT_PUBLIC_KEY_FILE outside var/keys/ "
                    "(that pair is generated for development only)."
                )
        return self

    def check(self) -> None:
        """Fails fast on what validation cannot see without I/O (the key file)."""
        _ = self.public_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
