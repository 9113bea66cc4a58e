"""Writes anyone can repeat cheaply are rate-limited in Redis: registration per client address,
invite creation (each sends an email) per user. 429 JSON with Retry-After."""

import pytest
from rest_framework.test import APIClient

from common.throttling import WriteRateThrottle
from tests.django_core.accounts.paths import REGISTER_URL


@pytest.fixture
def low_rates(monkeypatch):
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"register": "2/hour", "invite": "2/hour"})


def register(n: int, address: str = "203.0.113.30"):
    body = {"email": f"new{n}@example.com", "password": "a long passphrase", "name": f"New {n}"}
    return APIClient().post(REGISTER_URL, body, format="json", HTTP_X_REAL_IP=address)


@pytest.mark.django_db
def test_registration_is_rate_limited_per_address(low_rates):
    statuses = [register(n).status_code for n in range(3)]

    assert statuses == [201, 201, 429]
    refused = register(9)
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert register(10, address="203.0.113.31").status_code == 201


@pytest.mark.django_db
def test_invite_creation_is_rate_limited_per_user_and_listing_is_not(low_rates, client_for, team):
    client = client_for(team["owner"])
    url = f"/api/projects/{team['project'].pk}/invites"

    statuses = [
        client.post(url, {"email": f"guest{n}@example.com", "role": "member"}, format="json").status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]
    assert client.get(url).status_code == 200
