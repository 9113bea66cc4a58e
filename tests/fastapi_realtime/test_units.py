"""The relay's pure parts, in-process: settings, cursors and frames, when history closes a gap."""

import asyncio
import contextlib
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import ValidationError
from realtime_relay.auth import TicketRejected, TicketVerifier
from realtime_relay.config import PLACEHOLDER_SERVICE_TOKEN, REPO_DIR, ConfigurationError, Settings
from realtime_relay.frames import Cursor, frame_cursor, parse_cursor, revocation_time
from realtime_relay.history import History
from realtime_relay.subscriber import _Ready, channel_user
from redis.crc import key_slot
from taskflow_contracts.redis_layout import tagged_user_stream

from tests.fastapi_realtime.support import KEY_DIR, foreign_private_key, private_key, sign_ticket

STRONG_TOKEN = "s" * 40


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A clean environment for Settings (no .env file, no relay variables)."""
    for name in (
        "ENV",
        "DJANGO_ENV",
        "REALTIME_SERVICE_TOKEN",
        "JWT_PUBLIC_KEY",
        "JWT_PUBLIC_KEY_FILE",
        "WS_ALLOWED_ORIGINS",
        "REDIS_URL",
        "REDIS_SENTINELS",
        "REDIS_SENTINEL_MASTER",
        "REDIS_SENTINEL_PASSWORD",
        "REDIS_CLUSTER_URL",
    ):
        monkeypatch.delenv(name, raising=False)

    def settings(**env: str) -> Settings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings(_env_file=None)  # type: ignore[call-arg]

    return settings


def test_defaults_suit_a_developer_machine(environment):
    settings = environment()

    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.realtime_port == 8001
    assert settings.allowed_origins == {"http://localhost:8080", "http://127.0.0.1:8080"}
    assert settings.realtime_history_length == 500
    assert not settings.is_production


def test_redis_is_a_single_node_by_default(environment):
    topology = environment().topology

    assert (topology.mode, topology.url) == ("single", "redis://127.0.0.1:6379/0")


def test_redis_sentinels_name_the_primary(environment):
    topology = environment(
        REDIS_URL="redis://:secret@ignored:6379/3",
        REDIS_SENTINELS="s1:26379,[::1]:26380",
        REDIS_SENTINEL_MASTER="taskflow",
        REDIS_SENTINEL_PASSWORD="sentinel-secret",
    ).topology

    assert topology.mode == "sentinel"
    assert topology.sentinels == (("s1", 26379), ("::1", 26380))
    assert (topology.master, topology.sentinel_password) == ("taskflow", "sentinel-secret")
    assert topology.url == "redis://:secret@ignored:6379/3"  # the primary's database and password


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "s1", "REDIS_SENTINEL_MASTER": "taskflow"}, "host:port"),
    ],
)
def test_a_half_configured_sentinel_fails_at_start(environment, env, message):
    with pytest.raises(ValidationError, match=message):
        environment(**env)


def test_a_redis_cluster_wins_over_the_other_variables(environment):
    topology = environment(
        REDIS_SENTINELS="s1:26379", REDIS_SENTINEL_MASTER="taskflow", REDIS_CLUSTER_URL="redis://node-1:7000"
    ).topology

    assert (topology.mode, topology.url) == ("cluster", "redis://node-1:7000")


@pytest.mark.parametrize(
    ("channel", "user_id"),
    [
        ("user:{7}", 7),
        ("user:{1000000123}", 1000000123),
        # The untagged names of before are nobody's channel any more.
        ("user:7", None),
        ("user:{7}:events", None),
        ("user:{x}", None),
        ("realtime:relays", None),
    ],
)
def test_only_tagged_user_channels_carry_frames(channel, user_id):
    assert channel_user(channel) == user_id


def test_key_file_paths_are_relative_to_the_repository(environment):
    settings = environment(JWT_PUBLIC_KEY_FILE="var/keys/jwt_public.pem")

    assert settings.public_key is not None
    assert (REPO_DIR / "var/keys/jwt_public.pem").is_file()


def test_a_missing_key_fails_at_start(environment):
    settings = environment(JWT_PUBLIC_KEY_FILE="var/keys/nowhere.pem")

    with pytest.raises(ConfigurationError, match="No JWT public key"):
        settings.check()


def test_a_key_that_is_not_ed25519_is_refused(environment):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    settings = environment(JWT_PUBLIC_KEY=pem.decode().replace("\n", "\\n"))

    with pytest.raises(ConfigurationError, match="Ed25519"):
        settings.check()


@pytest.mark.parametrize("variable", ["ENV", "DJANGO_ENV"])
def test_production_refuses_the_placeholder_service_token(environment, variable):
    with pytest.raises(ValidationError, match="REALTIME_SERVICE_TOKEN"):
        environment(**{variable: "production"}, JWT_PUBLIC_KEY_FILE="/etc/taskflow/jwt_public.pem")
    with pytest.raises(ValidationError, match="REALTIME_SERVICE_TOKEN"):
        environment(**{variable: "production"}, REALTIME_SERVICE_TOKEN="short", JWT_PUBLIC_KEY_FILE="/etc/x.pem")


def test_production_refuses_the_development_key_pair(environment):
    with pytest.raises(ValidationError, match="own JWT key pair"):
        environment(ENV="production", REALTIME_SERVICE_TOKEN=STRONG_TOKEN)


def test_production_starts_with_real_secrets(environment):
    settings = environment(ENV="production", REALTIME_SERVICE_TOKEN=STRONG_TOKEN, JWT_PUBLIC_KEY_FILE="/etc/x.pem")

    assert settings.is_production
    assert settings.realtime_service_token != PLACEHOLDER_SERVICE_TOKEN


def test_an_unknown_environment_name_is_refused(environment):
    with pytest.raises(ValidationError):
        environment(ENV="staging")


@pytest.mark.parametrize(
    ("text", "cursor"),
    [
        ("0-0", Cursor(0, 0)),
        ("1795446955453-12", Cursor(1795446955453, 12)),
        ("", None),
        ("12", None),
        ("-1-0", None),
        ("1-2-3", None),
        ("a-b", None),
        (" 1-2", None),
        ("18446744073709551616-0", None),
        ("18446744073709551615-18446744073709551615", None),
    ],
)
def test_cursors_are_stream_ids(text, cursor):
    assert parse_cursor(text) == cursor


def test_cursors_compare_as_numbers_not_text():
    assert parse_cursor("10-0") > parse_cursor("9-5")
    assert parse_cursor("9-10") > parse_cursor("9-9")


def test_the_cursor_is_read_from_the_frame_prefix():
    assert frame_cursor('{"type":"event","cursor":"5-1","event":{}}') == Cursor(5, 1)
    assert frame_cursor('{"type":"resync"}') is None


def test_revocations_are_recognised_and_dated():
    frame = (
        '{"type":"event","cursor":"5-1","event":{"v":1,"id":"x","type":"user.revoked",'
        '"occurred_at":"2026-11-23T15:15:55Z","actor":null,"data":{}},"notification":null}'
    )

    assert revocation_time(frame) == 1795446955.0
    # A title cannot pose as one: its quotes arrive escaped.
    posing = (
        '{"type":"event","cursor":"5-2","event":{"type":"task.created",'
        '"data":{"title":"\\"type\\":\\"user.revoked\\""}}}'
    )
    assert revocation_time(posing) is None


C = Cursor
SEEN_5 = frozenset({C(5, 0)})


@pytest.mark.parametrize(
    ("history", "cursor", "covered"),
    [
        # No stream: only "nothing seen yet" is consistent with it.
        (History(exists=False), C(0, 0), True),
        (History(exists=False), C(5, 0), False),
        # Nothing added since the cursor.
        (History(exists=True, head=C(9, 0), first=C(1, 0), length=3, entries_added=3), C(9, 0), True),
        # The cursor is kept: everything after it is too.
        (History(exists=True, head=C(9, 0), first=C(1, 0), length=3, entries_added=3), C(5, 0), True),
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=9), C(5, 0), True),
        # Older than the first kept entry after trimming: lost.
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=9), C(4, 0), False),
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=9), C(0, 0), False),
        # Nothing ever removed: a client that saw nothing replays all.
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=3), C(0, 0), True),
        # A cursor of an earlier (expired) stream, older than this one.
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=3), C(4, 0), False),
        # The last deleted entry is the cursor: nothing after it was lost.
        (
            History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=9, max_deleted=C(4, 0)),
            C(4, 0),
            True,
        ),
        # Something after the cursor was deleted.
        (
            History(exists=True, head=C(9, 0), first=C(5, 0), length=3, entries_added=9, max_deleted=C(6, 0)),
            C(5, 0),
            False,
        ),
        # From the future, or too many to replay.
        (History(exists=True, head=C(9, 0), first=C(1, 0), length=3, entries_added=3), C(10, 0), False),
        (History(exists=True, head=C(9, 0), first=C(1, 0), length=3, entries_added=3, truncated=True), C(2, 0), False),
        # The client's own entry was looked for: found, the stream is the one it came from;
        # missing, the stream is another primary's (after a failover) and may differ around it.
        (
            History(exists=True, head=C(9, 0), first=C(1, 0), length=3, checked=SEEN_5, kept=SEEN_5),
            C(5, 0),
            True,
        ),
        (History(exists=True, head=C(9, 0), first=C(1, 0), length=3, checked=SEEN_5), C(5, 0), False),
        # Redis < 7 says nothing of deletions: only a kept cursor counts.
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3), C(5, 0), True),
        (History(exists=True, head=C(9, 0), first=C(5, 0), length=3), C(0, 0), False),
    ],
)
def test_history_covers_a_cursor_only_when_nothing_after_it_was_lost(history, cursor, covered):
    assert history.covers(cursor) is covered


def test_a_channel_waiter_that_gives_up_does_not_cancel_the_others():
    async def scenario() -> tuple[bool, bool]:
        ready = _Ready()
        patient = asyncio.ensure_future(ready.wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 0.01)
        ready.set()
        await asyncio.wait_for(patient, 1)
        await ready.wait()  # set: returns at once
        return patient.done() and not patient.cancelled(), ready.is_set()

    assert asyncio.run(scenario()) == (True, True)


# --- Tickets (realtime_relay.auth checks them without PyJWT: the same rules, tested here) -------


def _verifier() -> TicketVerifier:
    public_key = load_pem_public_key((KEY_DIR / "jwt_public.pem").read_bytes())
    assert isinstance(public_key, Ed25519PublicKey)
    return TicketVerifier(public_key=public_key, issuer="taskflow", leeway=5)


def _signed_with_header(header: dict[str, object], user_id: int = 7) -> str:
    claims = jwt.decode(sign_ticket(user_id), options={"verify_signature": False})
    return jwt.encode(claims, private_key(), algorithm="EdDSA", headers=header)


def test_a_ticket_as_django_core_signs_it_is_accepted():
    ticket = _verifier().verify(sign_ticket(7))

    assert (ticket.user_id, len(ticket.jti)) == (7, 32)
    assert ticket.expires_at - ticket.issued_at == 30


def test_a_ticket_for_several_audiences_including_the_relay_is_accepted():
    assert _verifier().verify(sign_ticket(7, aud=["api", "ws"])).user_id == 7


def test_another_header_order_or_a_key_id_is_accepted():
    # PyJWT writes {"alg":"EdDSA","typ":"JWT"}; any EdDSA header without extensions passes too.
    assert _verifier().verify(_signed_with_header({"kid": "2026"})).user_id == 7


@pytest.mark.parametrize(
    ("make_ticket", "reason"),
    [
        (lambda: None, "missing_ticket"),
        (lambda: "a.b", "invalid_ticket"),
        (lambda: "a.b.c", "invalid_ticket"),
        (lambda: sign_ticket(7) + "x", "invalid_ticket"),
        (lambda: sign_ticket(7, exp=int(time.time()) - 60, iat=int(time.time()) - 90), "expired_ticket"),
        (lambda: sign_ticket(7, aud="api"), "wrong_audience"),
        (lambda: sign_ticket(7, aud=["api", 3]), "wrong_audience"),
        (lambda: sign_ticket(7, token_type="access"), "wrong_token_type"),
        (lambda: sign_ticket(7, nbf=int(time.time()) + 600), "invalid_ticket"),
        (lambda: sign_ticket(7, iat="yesterday"), "invalid_ticket"),
        (lambda: sign_ticket(7, iss=None), "invalid_ticket"),
        (lambda: sign_ticket(7, sub=7), "invalid_ticket"),
        (lambda: sign_ticket(7, jti=12345), "invalid_ticket"),
        # Header extensions a verifier must understand are not part of a ticket (RFC 7515, 7797).
        (lambda: _signed_with_header({"crit": ["exp"], "exp": 1}), "invalid_ticket"),
        (lambda: _signed_with_header({"b64": False, "crit": ["b64"]}), "invalid_ticket"),
        (lambda: sign_ticket(7, key=foreign_private_key()), "invalid_ticket"),
    ],
)
def test_a_bad_ticket_is_rejected_with_its_reason(make_ticket, reason):
    with pytest.raises(TicketRejected) as rejected:
        _verifier().verify(make_ticket())

    assert rejected.value.reason == reason


def test_a_ticket_is_burnt_in_its_users_hash_slot_for_as_long_as_it_could_pass():
    verifier = _verifier()
    ticket = verifier.verify(sign_ticket(7, iat=int(time.time()), exp=int(time.time()) + 30))

    burn = verifier.burn(ticket)

    # One slot with the user's stream: the history script burns it (one key slot per script).
    assert burn.key == f"user:{{7}}:ticket:{ticket.jti}"
    assert key_slot(burn.key.encode()) == key_slot(tagged_user_stream(7).encode())
    assert 30 + 5 <= burn.ttl <= 30 + 5 + 1
