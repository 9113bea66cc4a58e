"""gateway/render.py: the template renders into a configuration nginx accepts, for one relay
or several, and refuses settings nginx would misread."""

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_DIR / "gateway"))
import render  # noqa: E402


def nginx_test(output: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    config = render.write(output, env)
    values = render.settings_from(env)
    return subprocess.run(
        render.nginx_command(render.find_nginx(env), config, values["runtime_dir"], "-t", "-q"),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"GATEWAY_RUNTIME_DIR": str(tmp_path / "runtime"), "GATEWAY_ACCESS_LOG": str(tmp_path / "access.log")}


def test_default_configuration_passes_nginx_test(tmp_path: Path, env: dict[str, str]) -> None:
    completed = nginx_test(tmp_path / "conf", env)

    assert completed.returncode == 0, completed.stderr
    text = (tmp_path / "conf" / "nginx.conf").read_text()
    assert "listen 127.0.0.1:8080;" in text
    assert "server 127.0.0.1:8000 max_fails=1 fail_timeout=10s;" in text
    assert (tmp_path / "conf" / "security-headers.conf").is_file()
    assert "{{" not in text


def test_several_relay_instances(tmp_path: Path, env: dict[str, str]) -> None:
    env["REALTIME_UPSTREAMS"] = "127.0.0.1:8001, 127.0.0.1:8002,127.0.0.1:8003"

    completed = nginx_test(tmp_path / "conf", env)

    assert completed.returncode == 0, completed.stderr
    text = (tmp_path / "conf" / "nginx.conf").read_text()
    upstream = re.search(r"upstream taskflow_realtime \{(.*?)\}", text, re.DOTALL)
    assert upstream
    assert re.findall(r"server (\S+) ", upstream.group(1)) == ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]
    assert "least_conn;" in upstream.group(1)


def upstream_block(text: str, name: str) -> str:
    found = re.search(rf"upstream {name} \{{(.*?)\}}", text, re.DOTALL)
    assert found, f"no upstream {name}"
    return found.group(1)


def test_several_django_core_instances(tmp_path: Path, env: dict[str, str]) -> None:
    env["DJANGO_UPSTREAMS"] = "127.0.0.1:8000, 127.0.0.1:8010,127.0.0.1:8020"

    completed = nginx_test(tmp_path / "conf", env)

    assert completed.returncode == 0, completed.stderr
    django = upstream_block((tmp_path / "conf" / "nginx.conf").read_text(), "taskflow_django")
    assert re.findall(r"server (\S+) max_fails=1 fail_timeout=10s;", django) == [
        "127.0.0.1:8000",
        "127.0.0.1:8010",
        "127.0.0.1:8020",
    ]
    # Balanced like the relays, failure state shared by every nginx worker, connections kept.
    assert "least_conn;" in django
    assert "zone taskflow_django 64k;" in django
    assert "keepalive 32;" in django


def test_django_upstream_still_names_one_instance(env: dict[str, str]) -> None:
    text = render.render(render.settings_from({**env, "DJANGO_UPSTREAM": "10.0.0.7:8000"}))
    assert re.findall(r"server (\S+) ", upstream_block(text, "taskflow_django")) == ["10.0.0.7:8000"]

    # DJANGO_UPSTREAMS wins when both are set.
    both = {**env, "DJANGO_UPSTREAM": "10.0.0.7:8000", "DJANGO_UPSTREAMS": "10.0.0.8:8000,10.0.0.9:8000"}
    text = render.render(render.settings_from(both))
    assert re.findall(r"server (\S+) ", upstream_block(text, "taskflow_django")) == ["10.0.0.8:8000", "10.0.0.9:8000"]

    with pytest.raises(render.ConfigurationError, match="list several in DJANGO_UPSTREAMS"):
        render.settings_from({**env, "DJANGO_UPSTREAM": "10.0.0.7:8000,10.0.0.8:8000"})


def test_balancing_and_failure_settings(tmp_path: Path, env: dict[str, str]) -> None:
    env.update(
        DJANGO_UPSTREAMS="127.0.0.1:8000,127.0.0.1:8010",
        REALTIME_UPSTREAMS="127.0.0.1:8001,127.0.0.1:8002",
        GATEWAY_DJANGO_BALANCE="round_robin",
        GATEWAY_UPSTREAM_MAX_FAILS="3",
        GATEWAY_UPSTREAM_FAIL_TIMEOUT="30",
    )

    completed = nginx_test(tmp_path / "conf", env)

    assert completed.returncode == 0, completed.stderr
    text = (tmp_path / "conf" / "nginx.conf").read_text()
    django, realtime = upstream_block(text, "taskflow_django"), upstream_block(text, "taskflow_realtime")
    assert "least_conn" not in django
    assert "least_conn;" in realtime
    for block in (django, realtime):
        assert len(re.findall(r"server \S+ max_fails=3 fail_timeout=30s;", block)) == 2
    with pytest.raises(render.ConfigurationError, match="GATEWAY_REALTIME_BALANCE"):
        render.settings_from({**env, "GATEWAY_REALTIME_BALANCE": "ip_hash"})
    with pytest.raises(render.ConfigurationError, match="GATEWAY_UPSTREAM_MAX_FAILS"):
        render.settings_from({**env, "GATEWAY_UPSTREAM_MAX_FAILS": "-1"})


def test_only_early_failures_are_retried_elsewhere_and_never_a_sent_write(env: dict[str, str]) -> None:
    text = render.render(render.settings_from(env))
    server = text.split("server {", 1)[1]

    assert "proxy_next_upstream error timeout;" in server
    assert "proxy_next_upstream_timeout 10s;" in server
    directives = re.findall(r"^\s*(proxy_next_upstream [^;]*);", text, re.MULTILINE)
    # Set once for the server: no location has its own list (it would replace this one); nginx
    # resends a POST, PATCH or LOCK that reached an instance only with `non_idempotent`.
    assert directives == ["proxy_next_upstream error timeout"]


def test_names_are_resolved_again_with_a_resolver(env: dict[str, str]) -> None:
    """Docker's embedded DNS: `django` and `realtime` name every replica of the service, and
    the replicas change while nginx runs (nginx >= 1.27.3, the gateway image's)."""
    env.update(
        DJANGO_UPSTREAMS="django:8000,10.0.0.5:8000",
        REALTIME_UPSTREAMS="realtime:8001",
        GATEWAY_RESOLVER="127.0.0.11",
    )

    text = render.render(render.settings_from(env))

    assert "    resolver 127.0.0.11 valid=10s ipv6=off;\n    upstream taskflow_django {" in text
    assert "server django:8000 max_fails=1 fail_timeout=10s resolve;" in text
    assert "server 10.0.0.5:8000 max_fails=1 fail_timeout=10s;" in text  # an address: nothing to resolve
    assert "server realtime:8001 max_fails=1 fail_timeout=10s resolve;" in text
    assert "resolver" not in render.render(render.settings_from({**env, "GATEWAY_RESOLVER": ""}))
    with pytest.raises(render.ConfigurationError, match="GATEWAY_RESOLVER"):
        render.settings_from({**env, "GATEWAY_RESOLVER": "dns.example"})


def test_websocket_timeouts_stay_above_the_relays_ping_round(env: dict[str, str]) -> None:
    assert render.settings_from(env)["ws_timeout"] == "80s"  # 2 x (20 s interval + 20 s timeout)
    assert render.settings_from({**env, "WS_PING_INTERVAL": "60", "WS_PING_TIMEOUT": "30"})["ws_timeout"] == "180s"
    with pytest.raises(render.ConfigurationError, match="GATEWAY_WS_TIMEOUT"):
        render.settings_from({**env, "GATEWAY_WS_TIMEOUT": "30"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_AUTH_RATE", "fast"),
        ("GATEWAY_AUTH_BURST", "0"),
        ("REALTIME_UPSTREAMS", "relay-without-port"),
        ("REALTIME_UPSTREAMS", " , "),
        ("DJANGO_UPSTREAM", "127.0.0.1:8000,127.0.0.1:8010"),
        ("DJANGO_UPSTREAMS", "django-without-port"),
        ("GATEWAY_DJANGO_BALANCE", "random"),
        ("GATEWAY_UPSTREAM_FAIL_TIMEOUT", "0"),
        ("GATEWAY_CLIENT_MAX_BODY_SIZE", "4 megabytes"),
        ("GATEWAY_LISTEN", "everywhere"),
    ],
)
def test_values_nginx_would_misread_are_refused(env: dict[str, str], name: str, value: str) -> None:
    with pytest.raises(render.ConfigurationError, match=name):
        render.settings_from({**env, name: value})


def test_the_docker_image_rendering(tmp_path: Path) -> None:
    """The values gateway/Dockerfile renders with: the container network's names."""
    env = {
        "GATEWAY_LISTEN": "8080",
        "DJANGO_UPSTREAMS": "django:8000",
        "REALTIME_UPSTREAMS": "realtime:8001",
        "GATEWAY_RESOLVER": "127.0.0.11",
        "STATIC_ROOT": "/srv/static",
        "GATEWAY_WEB_ROOT": "/usr/share/taskflow/web",
        "GATEWAY_RUNTIME_DIR": str(tmp_path / "runtime"),
        "GATEWAY_USER": "nginx",
    }

    text = render.render(render.settings_from(env))

    assert text.startswith("# TaskFlow gateway")
    assert "user nginx;" in text
    assert "listen 8080;" in text
    assert "resolver 127.0.0.11 valid=10s ipv6=off;" in text
    assert "server django:8000 max_fails=1 fail_timeout=10s resolve;" in text
    assert "server realtime:8001 max_fails=1 fail_timeout=10s resolve;" in text
    assert "alias /srv/static/;" in text
    dockerfile = (REPO_DIR / "gateway" / "Dockerfile").read_text()
    for name, value in env.items():
        if name != "GATEWAY_RUNTIME_DIR":
            assert f"{name}={value}" in dockerfile


def test_nginx_runs_it_and_stops_cleanly(tmp_path: Path, env: dict[str, str]) -> None:
    """`render.py --exec` as the Procfile runs it: nginx in the foreground, SIGTERM stops it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "GATEWAY_PORT": str(port), "PATH": "/usr/sbin:/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, str(REPO_DIR / "gateway" / "render.py"), "--exec"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/gateway/health", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not start"
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.05)
        assert response.json() == {"status": "ok"}
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_admin_sign_in_has_the_auth_rate_limit(tmp_path: Path, env: dict[str, str]) -> None:
    completed = nginx_test(tmp_path / "conf", env)

    assert completed.returncode == 0, completed.stderr
    text = (tmp_path / "conf" / "nginx.conf").read_text()
    location = re.search(r"location = /admin/login/ \{(.*?)\}", text, re.DOTALL)
    assert location, "no exact location for the admin's sign-in form"
    assert "limit_req zone=taskflow_auth burst=20 nodelay;" in location.group(1)
    assert "error_page 429 = @taskflow_429;" in location.group(1)
    assert "proxy_pass http://taskflow_django;" in location.group(1)


def test_swagger_ui_gets_the_same_strict_policy_as_django_cores(tmp_path: Path, env: dict[str, str]) -> None:
    text = render.render(render.settings_from(env))

    docs_csp = re.search(r'"~\^/api/docs/\?\$" "([^"]*)";', text)
    assert docs_csp, "no policy for /api/docs"
    assert "script-src 'self';" in docs_csp.group(1)
    assert "http" not in docs_csp.group(1)  # no CDN
    assert "'unsafe-eval'" not in docs_csp.group(1)
    settings_text = (REPO_DIR / "django-core" / "common" / "docs.py").read_text()
    assert "".join(re.findall(r'^\s+"(.*?)"$', settings_text.split("API_DOCS_CSP = (")[1].split(")")[0], re.M)) == (
        docs_csp.group(1)
    )
    # Hidden at the server level: a proxy_hide_header inside a location would drop the inherited ones.
    server = text.split("server {", 1)[1].split("\n        location ", 1)[0]
    assert "proxy_hide_header Content-Security-Policy;" in server
    assert "proxy_hide_header" not in text.split("location /api {", 1)[1].split("\n        location ", 1)[0]
