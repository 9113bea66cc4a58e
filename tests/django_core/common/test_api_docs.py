"""/api/docs: Swagger UI from our own static files (drf-spectacular-sidecar), no CDN, under a
CSP that runs only this origin's scripts; off when API_DOCS_ENABLED is false (the production
default: test_settings.py)."""

import re

import pytest
from django.contrib.staticfiles import finders

from common.docs import API_DOCS_CSP


@pytest.mark.django_db
def test_swagger_ui_loads_only_this_origins_scripts(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == API_DOCS_CSP
    assert "script-src 'self';" in API_DOCS_CSP
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assert "<script>" not in html  # no inline script: the CSP would block it
    sources = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+)"', html)
    assert sources
    for source in sources:
        assert source.startswith("/"), source
        assert not source.startswith("//"), source
    static = [source.removeprefix("/static/") for source in sources if source.startswith("/static/")]
    assert any(path.endswith("swagger-ui-bundle.js") for path in static)
    for path in static:
        assert finders.find(path), f"{path} is not among the static files"


@pytest.mark.django_db
def test_swagger_ui_init_script_is_served_from_the_docs_url(client):
    response = client.get("/api/docs?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs", "/api/docs/", "/api/docs?script=", "/api/schema", "/api/schema/"])
def test_docs_and_schema_are_a_json_404_when_disabled(client, settings, url):
    settings.API_DOCS_ENABLED = False

    response = client.get(url)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
