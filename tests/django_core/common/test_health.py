import json

import pytest
from django.test import RequestFactory, override_settings

from common.errors import csrf_failure
from common.redis import redis_client


@pytest.mark.django_db
def test_health_reports_every_dependency_ok(api_client):
    response = api_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_health_is_503_naming_redis_when_redis_is_down_without_its_error(api_client, caplog):
    # given a Redis URL where nothing listens
    redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
            response = api_client.get("/api/health/")
            internal = api_client.get("/internal/ready")
    finally:
        redis_client.cache_clear()

    # Public (the gateway routes /api): a fixed word, not the error, which names the host.
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "ok", "redis": "unavailable"}}
    assert "127.0.0.1" not in response.content.decode()
    # The error is in the log and on /internal/ready (never routed by the gateway).
    assert "ConnectionError" in caplog.text
    assert internal.status_code == 503
    assert internal.json()["checks"]["redis"].startswith("error: ConnectionError")


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/does-not-exist")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
def test_unknown_api_path_is_json_404_for_writes_too(api_client, method):
    # Regression (found by the fuzzer): unmatched writes got Django's HTML CSRF page.
    api_client.enforce_csrf_checks = True

    response = getattr(api_client, method)("/api/tasks/null/watch", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_csrf_failure_under_api_is_json_and_html_elsewhere():
    # CSRF only applies to session-authenticated requests (the admin); API clients get JSON.
    api = csrf_failure(RequestFactory().post("/api/anything"), reason="CSRF cookie not set.")
    admin = csrf_failure(RequestFactory().post("/admin/login/"), reason="CSRF cookie not set.")

    assert api.status_code == 403
    assert api["Content-Type"] == "application/json"
    assert json.loads(api.content)["code"] == "csrf_failed"
    assert admin.status_code == 403
    assert admin["Content-Type"].startswith("text/html")
