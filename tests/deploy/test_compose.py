"""docker-compose.yml, checked by a real Compose implementation (`docker compose` when the
plugin is there, else Debian's `docker-compose`; `make test` installs it as root). Only its
parsing and validation run: no Docker engine is needed, and none is started."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_DIR = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_DIR / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "compose-test-password",
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
    for name in ("postgres", "redis", "django", "realtime", "nginx", "mailpit", "worker", "bot"):
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
    env = {**SECRETS, "CELERY_BROKER_URL": "redis://redis-broker:6379/0"}

    completed = run_compose(tmp_path, env, "--profile", "scale", "config")

    assert completed.returncode == 0, completed.stderr
    services = yaml.safe_load(completed.stdout)["services"]
    assert "redis-broker" in services
    for name in ("django", "outbox", "worker", "beat", "django-wide", "worker-wide", "outbox-standby"):
        environment = services[name]["environment"]
        assert environment["CELERY_BROKER_URL"] == "redis://redis-broker:6379/0"
        assert environment["REDIS_URL"] == "redis://redis:6379/0"  # the realtime data stays put


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
