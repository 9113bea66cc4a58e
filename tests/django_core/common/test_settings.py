"""Production refuses to start on placeholder secrets or the development key pair, and keeps
the API docs off unless enabled."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"


def _import_settings(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "TELEGRAM_"))}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=DJANGO_CORE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def production_keys(tmp_path: Path) -> dict[str, str]:
    sys.path.insert(0, str(DJANGO_CORE.parent / "scripts"))
    try:
        from jwt_keys import ensure_keys
    finally:
        sys.path.pop(0)
    ensure_keys(tmp_path)
    return {
        "JWT_PRIVATE_KEY_FILE": str(tmp_path / "jwt_private.pem"),
        "JWT_PUBLIC_KEY_FILE": str(tmp_path / "jwt_public.pem"),
    }


def test_production_refuses_the_placeholder_secret_key(production_keys):
    result = _import_settings(DJANGO_ENV="production", **production_keys)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is a placeholder" in result.stderr


def test_production_refuses_the_development_key_pair():
    result = _import_settings(DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "Production needs its own JWT key pair" in result.stderr


def test_production_starts_with_real_secrets(production_keys):
    result = _import_settings(
        DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 50, TELEGRAM_SERVICE_TOKEN="t" * 40, **production_keys
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("token", [None, "dev-insecure-telegram-token-change-me", "short-token"])
def test_production_refuses_a_placeholder_or_short_telegram_service_token(production_keys, token):
    extra = {} if token is None else {"TELEGRAM_SERVICE_TOKEN": token}

    result = _import_settings(DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 50, **production_keys, **extra)

    assert result.returncode != 0
    assert "TELEGRAM_SERVICE_TOKEN is a placeholder or shorter than 32 characters" in result.stderr


def test_access_token_lifetime_above_15_minutes_is_refused():
    result = _import_settings(ACCESS_TOKEN_MINUTES="30")

    assert result.returncode != 0
    assert "ACCESS_TOKEN_MINUTES must be at most 15" in result.stderr


def test_missing_key_pair_says_how_to_create_one(tmp_path):
    result = _import_settings(JWT_PRIVATE_KEY_FILE=str(tmp_path / "none.pem"))

    assert result.returncode != 0
    assert "make keys" in result.stderr


def _api_docs_enabled(**overrides: str) -> str:
    """API_DOCS_ENABLED as a fresh process computes it from this environment (no API_DOCS_* or
    DJANGO_* variables inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "TELEGRAM_", "API_DOCS_"))}
    completed = subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.API_DOCS_ENABLED)"],
        cwd=DJANGO_CORE,
        env={**env, **overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_docs_are_on_by_default_outside_production():
    assert _api_docs_enabled(DJANGO_ENV="development") == "True"


def test_docs_are_off_by_default_in_production_and_can_be_enabled(production_keys):
    production = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "x" * 50, "TELEGRAM_SERVICE_TOKEN": "t" * 40}

    assert _api_docs_enabled(**production, **production_keys) == "False"
    assert _api_docs_enabled(**production, **production_keys, API_DOCS_ENABLED="true") == "True"
