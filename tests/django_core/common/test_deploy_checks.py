"""Production behind a TLS-terminating proxy (DJANGO_BEHIND_TLS_PROXY): `manage.py check --deploy`
is clean, and the settings do what they say on real requests (HTTPS only when the proxy says so,
HSTS, the service-network paths never redirected). Each case runs in a fresh process: settings
are read from the environment at import."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"
HOST = "tasks.example.com"

# Requests made inside the configured process with Django's test client (no database needed: the
# paths answer a JSON 404 or a redirect before any query).
PROBE = f"""
import json
from django.test import Client
client = Client(HTTP_HOST="{HOST}")
answers = {{}}
for name, path, headers in (
    ("plain", "/api/no-such-thing", {{}}),
    ("https", "/api/no-such-thing", {{"HTTP_X_FORWARDED_PROTO": "https"}}),
    ("internal", "/internal/no-such-thing", {{}}),
):
    response = client.get(path, **headers)
    answers[name] = {{
        "status": response.status_code,
        "location": response.get("Location"),
        "hsts": response.get("Strict-Transport-Security"),
    }}
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def production_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """DJANGO_ENV=production with real secrets and a freshly generated key pair, nothing inherited
    from the developer's DJANGO_*/JWT_*/TELEGRAM_* variables."""
    keys = tmp_path_factory.mktemp("keys")
    sys.path.insert(0, str(DJANGO_CORE.parent / "scripts"))
    try:
        from jwt_keys import ensure_keys
    finally:
        sys.path.pop(0)
    ensure_keys(keys)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "TELEGRAM_", "SECURE_"))}
    return {
        **env,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "TELEGRAM_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "JWT_PRIVATE_KEY_FILE": str(keys / "jwt_private.pem"),
        "JWT_PUBLIC_KEY_FILE": str(keys / "jwt_public.pem"),
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=DJANGO_CORE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_behind_a_tls_proxy(production_env: dict[str, str]) -> None:
    # docker-compose.yml's default for plain HTTP on localhost: overruled behind the proxy.
    env = {**production_env, "DJANGO_BEHIND_TLS_PROXY": "true", "DJANGO_SECURE_COOKIES": "false"}

    completed = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_without_the_proxy_setting_check_deploy_flags_plain_http(production_env: dict[str, str]) -> None:
    completed = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    # Plain HTTP production (docker compose on localhost) is what check --deploy warns about.
    assert completed.returncode != 0
    for check in ("security.W004", "security.W008"):
        assert check in completed.stderr


def probe(env: dict[str, str]) -> dict[str, dict[str, str | int | None]]:
    completed = manage(env, "shell", "--no-imports", "-c", PROBE)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_behind_the_proxy_https_comes_from_x_forwarded_proto(production_env: dict[str, str]) -> None:
    answers = probe({**production_env, "DJANGO_BEHIND_TLS_PROXY": "true"})

    # Plain HTTP is sent to HTTPS; the proxy's X-Forwarded-Proto: https is believed, and the
    # answer pins HTTPS for a year, subdomains included.
    assert answers["plain"]["status"] == 301
    assert answers["plain"]["location"] == f"https://{HOST}/api/no-such-thing"
    assert answers["https"]["status"] == 404
    assert answers["https"]["hsts"] == "max-age=31536000; includeSubDomains; preload"
    # The bot's internal API on the service network is never redirected.
    assert answers["internal"]["status"] == 404


def test_without_the_proxy_setting_x_forwarded_proto_is_not_believed(production_env: dict[str, str]) -> None:
    answers = probe(production_env)

    assert answers["plain"]["status"] == 404
    assert answers["https"]["status"] == 404
    assert answers["https"]["hsts"] is None
