"""With PostgreSQL unreachable the API answers a clear 503 JSON, quickly, never a 500 or a hang."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

DJANGO_CORE = Path(__file__).resolve().parents[3] / "django-core"

# Runs in a separate interpreter whose DATABASE_URL points at a port where nothing listens.
PROBE = r"""
import json, os
import django
django.setup()
from django.test import Client
from accounts.models import User
from rest_framework_simplejwt.tokens import AccessToken

client = Client(raise_request_exception=False)
user = User(pk=1, email="x@example.com", password="!")
token = str(AccessToken.for_user(user))  # minted without touching the database
results = {}
for name, path in [("health", "/api/health"), ("tasks", "/api/tasks"), ("login", "/api/auth/login")]:
    if name == "login":
        response = client.post(path, {"email": "a@example.com", "password": "x"}, content_type="application/json")
    else:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    results[name] = {"status": response.status_code, "body": response.json()}
print(json.dumps(results))
"""


def test_api_answers_503_json_when_the_database_is_down():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/taskflow",
        "DATABASE_CONNECT_TIMEOUT": "1",
        "DATABASE_POOL_TIMEOUT": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    started = time.monotonic()

    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=DJANGO_CORE, env=env, capture_output=True, text=True, timeout=60
    )

    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["health"]["status"] == 503
    # A fixed word: psycopg's error names the host and port ("connection to server at ...").
    assert answers["health"]["body"]["checks"]["database"] == "unavailable"
    assert "127.0.0.1" not in json.dumps(answers["health"]["body"])
    assert answers["health"]["body"]["checks"]["redis"] == "ok"
    for name in ("tasks", "login"):
        assert answers[name]["status"] == 503, answers[name]
        assert answers[name]["body"]["code"] == "database_unavailable"
    # Bounded by the connect/pool timeouts, not hanging (generous bound for a loaded CI box).
    assert elapsed < 45
