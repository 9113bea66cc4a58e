"""The client's address behind a trusted proxy (GATEWAY_TRUSTED_PROXIES), for real: nginx rendered
from the template, a stand-in django-core behind it. The auth limit (1 request a minute, burst 1:
the third request from one client is refused) shows which address the gateway keys on; the
stand-in shows what django-core is told."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.gateway.support import Instance, gateway, render, serving

# The tests' requests come from 127.0.0.1: trusted with the first setting, not with the second.
TRUSTING_LOOPBACK = {"GATEWAY_TRUSTED_PROXIES": "127.0.0.0/8"}
TRUSTING_ANOTHER = {"GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8"}
SMALL_AUTH_LIMIT = {"GATEWAY_AUTH_RATE": "1r/m", "GATEWAY_AUTH_BURST": "1"}


def login(base: str, **headers: str) -> int:
    return requests.post(f"{base}/api/auth/login", json={}, headers=headers, timeout=5).status_code


@pytest.mark.parametrize("settings", [{}, TRUSTING_ANOTHER], ids=["no trusted proxy", "another address trusted"])
def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    tmp_path: Path, settings: dict[str, str]
) -> None:
    django = Instance("django")
    with serving(django), gateway(tmp_path, [django.address], **SMALL_AUTH_LIMIT, **settings) as base:
        # A new made-up address each time: still one client, the peer, for the limit.
        statuses = [
            login(base, **{"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"}) for n in range(1, 4)
        ]

    assert statuses == [200, 200, 429]
    for headers in django.headers_seen:
        assert headers["X-Forwarded-For"] == "127.0.0.1"
        assert headers["X-Real-IP"] == "127.0.0.1"
        assert headers["X-Forwarded-Proto"] == "http"


def test_behind_a_trusted_proxy_the_limit_keys_on_each_client(tmp_path: Path) -> None:
    django = Instance("django")
    with serving(django), gateway(tmp_path, [django.address], **SMALL_AUTH_LIMIT, **TRUSTING_LOOPBACK) as base:
        # Three clients behind the proxy, once each: nobody is over the limit.
        distinct = [login(base, **{"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(1, 4)]
        # One client three times, whatever it prepends itself (the proxy appends the address it
        # saw): the third is refused, and the proxy's other clients are not.
        one_client = [
            login(base, **{"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.9", "X-Forwarded-Proto": "https"})
            for n in range(1, 4)
        ]
        neighbour = login(base, **{"X-Forwarded-For": "203.0.113.10"})
        # Two trusted hops (a CDN, then the load balancer): the client is the last untrusted one.
        two_hops = login(base, **{"X-Forwarded-For": "203.0.113.20, 127.0.0.5"})

    assert distinct == [200, 200, 200]
    assert one_client == [200, 200, 429]
    assert neighbour == two_hops == 200
    told = [(h["X-Real-IP"], h["X-Forwarded-For"], h["X-Forwarded-Proto"]) for h in django.headers_seen]
    assert told == [
        ("203.0.113.1", "203.0.113.1", "http"),
        ("203.0.113.2", "203.0.113.2", "http"),
        ("203.0.113.3", "203.0.113.3", "http"),
        ("203.0.113.9", "203.0.113.9", "https"),
        ("203.0.113.9", "203.0.113.9", "https"),
        ("203.0.113.10", "203.0.113.10", "http"),
        ("203.0.113.20", "203.0.113.20", "http"),
    ]


def test_trusted_proxies_render_into_a_configuration_nginx_accepts(tmp_path: Path) -> None:
    env = {
        "GATEWAY_RUNTIME_DIR": str(tmp_path / "runtime"),
        "GATEWAY_ACCESS_LOG": "off",
        "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5,2001:db8::/32",
    }
    config = render.write(tmp_path / "conf", env)

    text = config.read_text()
    for proxy in ("10.0.0.0/8", "192.168.1.5", "2001:db8::/32"):
        assert f"set_real_ip_from {proxy};" in text
        assert f"        {proxy} 1;" in text
    assert "real_ip_header X-Forwarded-For;" in text
    assert "real_ip_recursive on;" in text
    command = render.nginx_command(render.find_nginx(env), config, str(tmp_path / "runtime"), "-t", "-q")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    # Unset: nothing is trusted.
    assert "set_real_ip_from" not in render.render(render.settings_from({**env, "GATEWAY_TRUSTED_PROXIES": ""}))
    with pytest.raises(render.ConfigurationError, match="GATEWAY_TRUSTED_PROXIES"):
        render.settings_from({**env, "GATEWAY_TRUSTED_PROXIES": "load-balancer.internal"})
