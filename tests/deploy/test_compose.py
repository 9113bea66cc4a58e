"""docker-compose.yml, checked by a real Compose implementation (`docker compose` when the
plugin is there, else Debian's `docker-compose`; `make test` installs it as root). Only its
parsing and validation run: no Docker engine is needed, and none is started."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml

from tests.e2e.stack import free_port

REPO_DIR = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_DIR / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
    "REDIS_PASSWORD": "compose-test-redis-password",
    "DJANGO_SECRET_KEY": "compose-test-secret-key-" + "x" * 40,
    "REALTIME_SERVICE_TOKEN": "compose-test-service-token-0123456789",
    "TELEGRAM_SERVICE_TOKEN": "compose-test-telegram-token-0123456789",
    "DOCKER_JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\\nprivate\\n-----END PRIVATE KEY-----",
    "DOCKER_JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\npublic\\n-----END PUBLIC KEY-----",
}
# Procfile process -> compose service, where the names differ.
SERVICE_OF_PROCESS = {"gateway": "nginx"}
# Services that are infrastructure: no Procfile line (make run uses the machine's own).
INFRASTRUCTURE = {"postgres", "redis", "mailpit", "redis-broker"}
# The `scale` profile's extra instances -> the service (Procfile process) each is more of.
WIDE = {"django-wide": "django", "realtime-wide": "realtime", "worker-wide": "worker", "outbox-standby": "outbox"}


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    assert legacy, (
        "no Compose implementation: `make test` installs Debian's docker-compose as root; otherwise "
        "`sudo apt-get install -y --no-install-recommends docker-compose`"
    )
    return [legacy]


def run_compose(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Compose with exactly `env` (plus PATH): an empty env file, so a developer's .env cannot
    fill in what the test leaves out."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run(
        [
            *compose_command(),
            "--project-directory",
            str(REPO_DIR),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(empty),
            *args,
        ],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# The bot's service is in the `telegram` profile and needs the bot's token on top.
WITH_BOT = {**SECRETS, "TELEGRAM_BOT_TOKEN": "123456:compose-test-bot-token"}


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, Any]:
    completed = run_compose(tmp_path, WITH_BOT, "--profile", "telegram", "--profile", "scale", "config")
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load(completed.stdout)


def test_without_the_telegram_profile_no_bot_token_is_needed(tmp_path: Path) -> None:
    completed = run_compose(tmp_path, SECRETS, "config")

    assert completed.returncode == 0, completed.stderr
    # Compose v1's `config` lists every service; `up` starts the bot only with its profile.
    assert yaml.safe_load(completed.stdout)["services"]["bot"]["profiles"] == ["telegram"]


def test_the_bot_gets_its_token_and_reaches_django_core_directly(resolved: dict[str, Any]) -> None:
    bot = resolved["services"]["bot"]

    assert bot["environment"]["TELEGRAM_BOT_TOKEN"] == WITH_BOT["TELEGRAM_BOT_TOKEN"]
    assert bot["environment"]["TELEGRAM_SERVICE_TOKEN"] == SECRETS["TELEGRAM_SERVICE_TOKEN"]
    assert bot["environment"]["DJANGO_INTERNAL_URL"] == "http://django:8000"
    assert "ports" not in bot


def procfile_processes() -> dict[str, str]:
    processes = {}
    for line in (REPO_DIR / "Procfile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line)
        if match:
            processes[match.group(1)] = match.group(2)
    return processes


def test_compose_file_is_valid(tmp_path: Path) -> None:
    completed = run_compose(tmp_path, SECRETS, "config", "-q")

    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_run_without_each_secret(tmp_path: Path, secret: str) -> None:
    env = {name: value for name, value in SECRETS.items() if name != secret}

    completed = run_compose(tmp_path, env, "config", "-q")

    assert completed.returncode != 0
    assert secret in completed.stderr


def test_services_are_in_step_with_the_procfile(resolved: dict[str, Any]) -> None:
    services = set(resolved["services"])
    expected = {SERVICE_OF_PROCESS.get(name, name) for name in procfile_processes()}

    # Every process `make run` starts runs in compose too, and compose runs nothing else but
    # the infrastructure and more instances of those processes (the `scale` profile).
    assert expected - services == set(), "Procfile processes with no compose service"
    assert services - expected - INFRASTRUCTURE - set(WIDE) == set(), "compose services with no Procfile line"


def test_django_image_roles_match_the_procfile(resolved: dict[str, Any]) -> None:
    """Each compose service of the django-core image runs the same program as its Procfile line."""
    entrypoint = (REPO_DIR / "django-core" / "docker-entrypoint.sh").read_text()
    programs = {"django": "gunicorn config.wsgi", "outbox": "manage.py outbox_relay"}
    for name, line in procfile_processes().items():
        if "celery -A config" in line:
            programs[name] = "celery -A config " + line.split("celery -A config ", 1)[1].split()[0]
    for name, program in programs.items():
        service = resolved["services"][name]
        assert service["build"]["dockerfile"] == "django-core/Dockerfile"
        role = service["command"][0] if name != "django" else "serve"
        case = re.search(rf"^\s+{role}\)\n(.*?);;", entrypoint, re.MULTILINE | re.DOTALL)
        assert case, f"docker-entrypoint.sh has no {role} role"
        assert program in " ".join(case.group(1).split()), (name, program)


def test_scaling_and_health(resolved: dict[str, Any]) -> None:
    services = resolved["services"]

    assert services["beat"]["deploy"]["replicas"] == 1
    assert services["realtime"]["deploy"]["replicas"] >= 2
    assert "ports" not in services["realtime"], "published ports would stop it from scaling"
    for name in ("postgres", "redis", "django", "realtime", "nginx", "mailpit", "worker", "bot", "outbox", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx", "mailpit"}
    # Migrations run once, in django; everything using the database waits for it.
    for name in ("outbox", "worker", "beat"):
        assert services[name]["depends_on"]["django"]["condition"] == "service_healthy"


def test_no_secret_reaches_an_image() -> None:
    ignored = (REPO_DIR / ".dockerignore").read_text().splitlines()
    for pattern in (".env", "var/", ".venv/", ".git/"):
        assert pattern in ignored
    for dockerfile in (
        "django-core/Dockerfile",
        "fastapi-realtime/Dockerfile",
        "gateway/Dockerfile",
        "telegram-bot/Dockerfile",
    ):
        text = (REPO_DIR / dockerfile).read_text()
        baked = re.findall(r"^(?:ENV|ARG)\b.*$", text, re.MULTILINE)
        for line in baked:
            assert not re.search(r"SECRET|PASSWORD|PRIVATE|TOKEN", line), (dockerfile, line)


def test_the_scale_profile_runs_more_of_what_runs_wide(resolved: dict[str, Any]) -> None:
    services = resolved["services"]

    for name, base in WIDE.items():
        wide = services[name]
        assert wide["profiles"] == ["scale"]
        # The same program from the same image, with the same settings.
        assert wide["image"] == services[base]["image"]
        assert wide["environment"] == services[base]["environment"]
        assert "ports" not in wide
    for name in ("django-wide", "realtime-wide", "worker-wide"):
        assert services[name]["deploy"]["replicas"] >= 2
        assert services[name]["healthcheck"]["test"]
    # The gateway, the bot and each other reach the extra instances by the base name.
    for name in ("django-wide", "realtime-wide"):
        assert services[name]["networks"]["default"]["aliases"] == [WIDE[name]]
    # Only the base django migrates (the `serve` role), once; the others serve and wait for it.
    assert services["django-wide"]["command"][:2] == ["gunicorn", "config.wsgi"]
    assert services["django-wide"]["depends_on"]["django"]["condition"] == "service_healthy"
    # What must stay single is not widened: beat (exactly one) and the bot (one getUpdates per token).
    roles = [service.get("command", [None])[0] for service in services.values()]
    assert roles.count("beat") == 1
    bots = [
        name for name, service in services.items() if "telegram-bot" in service.get("build", {}).get("dockerfile", "")
    ]
    assert bots == ["bot"]


def test_the_gateway_follows_replicas_behind_a_name() -> None:
    """nginx in the image resolves `django` and `realtime` again while it runs (Docker's DNS),
    so the scale profile's instances and `--scale` replicas get traffic without a reload."""
    dockerfile = (REPO_DIR / "gateway" / "Dockerfile").read_text()

    assert "GATEWAY_RESOLVER=127.0.0.11" in dockerfile
    assert "DJANGO_UPSTREAMS=django:8000" in dockerfile
    assert "REALTIME_UPSTREAMS=realtime:8001" in dockerfile


def test_the_broker_can_move_to_a_redis_of_its_own(tmp_path: Path) -> None:
    env = {**SECRETS, "CELERY_BROKER_HOST": "redis-broker"}

    completed = run_compose(tmp_path, env, "--profile", "scale", "config")

    assert completed.returncode == 0, completed.stderr
    services = yaml.safe_load(completed.stdout)["services"]
    assert "redis-broker" in services
    for name in ("django", "outbox", "worker", "beat", "django-wide", "worker-wide", "outbox-standby"):
        environment = services[name]["environment"]
        assert environment["CELERY_BROKER_URL"] == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis-broker:6379/0"
        # The realtime data stays put.
        assert environment["REDIS_URL"] == f"redis://:{SECRETS['REDIS_PASSWORD']}@redis:6379/0"


def test_behind_a_tls_proxy_both_sides_are_told(tmp_path: Path) -> None:
    """GATEWAY_TRUSTED_PROXIES reaches the gateway's build (its configuration is rendered there)
    and DJANGO_BEHIND_TLS_PROXY every django-core process; unset, neither trusts anything."""
    env = {**SECRETS, "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8", "DJANGO_BEHIND_TLS_PROXY": "true"}

    services = yaml.safe_load(run_compose(tmp_path, env, "config").stdout)["services"]
    defaults = yaml.safe_load(run_compose(tmp_path, SECRETS, "config").stdout)["services"]

    assert services["nginx"]["build"]["args"]["GATEWAY_TRUSTED_PROXIES"] == "10.0.0.0/8"
    assert "ARG GATEWAY_TRUSTED_PROXIES=\n" in (REPO_DIR / "gateway" / "Dockerfile").read_text()
    assert defaults["nginx"]["build"]["args"]["GATEWAY_TRUSTED_PROXIES"] == ""
    for name in ("django", "outbox", "worker", "beat"):
        assert services[name]["environment"]["DJANGO_BEHIND_TLS_PROXY"] == "true"
        assert defaults[name]["environment"]["DJANGO_BEHIND_TLS_PROXY"] == "false"


# --- Redis with a password, a broker that never evicts, Mailpit on this machine only ----------


def redis_urls(services: dict[str, Any]) -> dict[str, str]:
    """Every environment value of every service that is a Redis URL, by `service.VARIABLE`."""
    return {
        f"{name}.{variable}": str(value)
        for name, service in services.items()
        for variable, value in (service.get("environment") or {}).items()
        if str(value).startswith(("redis://", "rediss://"))
    }


def test_every_redis_client_url_carries_the_password(resolved: dict[str, Any]) -> None:
    urls = redis_urls(resolved["services"])

    # The processes of every image that talks to Redis.
    for client in ("django", "outbox", "worker", "beat", "realtime", "bot", "django-wide", "realtime-wide"):
        assert f"{client}.REDIS_URL" in urls
    for client in ("django", "worker", "beat", "outbox"):
        assert f"{client}.CELERY_BROKER_URL" in urls
    for where, url in urls.items():
        assert urlsplit(url).password == SECRETS["REDIS_PASSWORD"], where


@pytest.mark.parametrize("server", ["redis", "redis-broker"])
def test_redis_requires_the_password_and_never_evicts(resolved: dict[str, Any], tmp_path: Path, server: str) -> None:
    """The service's own command, run by this machine's redis-server on a free port: a client
    without the password is refused, one with it is served; the eviction policy is noeviction."""
    service = resolved["services"][server]
    assert SECRETS["REDIS_PASSWORD"] not in " ".join(service["command"]), "the password would show in `ps`"
    assert service["environment"]["REDISCLI_AUTH"] == SECRETS["REDIS_PASSWORD"]  # the healthcheck's redis-cli
    port = free_port()
    # `$$` is Compose's escape for the shell's `$`; only the port (6379 is taken here) is added.
    script = service["command"][2].replace("$$", "$").replace("redis-server -", f"redis-server - --port {port}", 1)
    environment = {"PATH": "/usr/bin:/bin", **service["environment"]}
    process = subprocess.Popen([*service["command"][:2], script], cwd=tmp_path, env=environment)
    try:
        anonymous = redis.Redis(port=port, socket_timeout=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                anonymous.ping()
                pytest.fail("Redis answered a client without the password")
            except redis.AuthenticationError:
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                assert process.poll() is None, "redis-server exited"
                time.sleep(0.05)
        authenticated = redis.Redis(port=port, password=SECRETS["REDIS_PASSWORD"], socket_timeout=2)
        assert authenticated.ping()
        assert authenticated.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mailpit_is_reachable_from_this_machine_only(resolved: dict[str, Any]) -> None:
    ports = resolved["services"]["mailpit"]["ports"]

    assert ports, "Mailpit's web UI is published"
    for port in ports:
        # Compose v1 prints the short syntax, v2 the long one.
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]
        assert host_ip == "127.0.0.1", port


def test_make_docker_env_writes_every_secret_compose_requires() -> None:
    sys.path.insert(0, str(REPO_DIR / "scripts"))
    try:
        from docker_env import missing_values
    finally:
        sys.path.pop(0)
    lines = [line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    required = set(re.findall(r"\$\{(\w+):\?", "\n".join(lines)))

    generated = missing_values({})

    assert "REDIS_PASSWORD" in required
    assert required <= set(generated)
    # It goes into redis:// URLs as it is.
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", generated["REDIS_PASSWORD"])
