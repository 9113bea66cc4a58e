import pytest
from django.test import override_settings

from common.redis import redis_client


@pytest.mark.django_db
def test_health_reports_every_dependency_ok(api_client):
    response = api_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.django_db
def test_health_is_503_naming_redis_when_redis_is_down(api_client):
    # given a Redis URL where nothing listens
    redis_client.cache_clear()
    try:
        with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
            response = api_client.get("/api/health/")
    finally:
        redis_client.cache_clear()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ConnectionError")


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/does-not-exist")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
