"""Renders the gateway's nginx configuration from gateway/nginx.conf.template, and runs nginx.

    python gateway/render.py                 # write var/gateway/nginx.conf (+ security-headers.conf)
    python gateway/render.py --check         # ... and `nginx -t` it
    python gateway/render.py --exec          # ... and replace this process with nginx (foreground)
    python gateway/render.py --output DIR    # somewhere else (the Docker image renders into /etc/nginx)

Everything comes from the environment (the same variables as the rest of TaskFlow, see
.env.example, "Gateway"), so `make run`, the end-to-end tests, the benchmark and the Docker image
render one template with different values. Standard library only: the Docker build renders it
with a bare Python.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

GATEWAY_DIR = Path(__file__).resolve().parent
REPO_DIR = GATEWAY_DIR.parent
TEMPLATE = GATEWAY_DIR / "nginx.conf.template"
INCLUDED_FILES = ("security-headers.conf",)
PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")
RATE = re.compile(r"^\d+r/[sm]$")
SIZE = re.compile(r"^\d+[kKmMgG]?$")
ADDRESS = re.compile(r"^[\w.\-\[\]:]+:\d+$")
IP_ADDRESS = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$")
RESOLVER = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(:\d+)?$")
BALANCING = {"least_conn": "least_conn;", "round_robin": "# round robin (nginx's default)"}


class ConfigurationError(ValueError):
    """A gateway setting has a value nginx would reject or misread."""


def _repo_path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_DIR / path


def _addresses(name: str, value: str) -> list[str]:
    addresses = [part.strip() for part in value.split(",") if part.strip()]
    if not addresses:
        raise ConfigurationError(f"{name} lists no address")
    for address in addresses:
        if not ADDRESS.match(address):
            raise ConfigurationError(f"{name}: {address!r} is not host:port")
    return addresses


def _matching(name: str, value: str, pattern: re.Pattern[str], example: str) -> str:
    if not pattern.match(value):
        raise ConfigurationError(f"{name}={value!r} is not valid (e.g. {example})")
    return value


def _positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(f"{name}={value!r} must be a positive whole number")
    return number


def _django_upstreams(get: Callable[[str, str], str]) -> list[str]:
    """DJANGO_UPSTREAMS (any number, comma-separated), else DJANGO_UPSTREAM (one, the older name),
    else 127.0.0.1:DJANGO_PORT."""
    several = get("DJANGO_UPSTREAMS", "")
    if several:
        return _addresses("DJANGO_UPSTREAMS", several)
    one = _addresses("DJANGO_UPSTREAM", get("DJANGO_UPSTREAM", f"127.0.0.1:{get('DJANGO_PORT', '8000')}"))
    if len(one) != 1:
        raise ConfigurationError("DJANGO_UPSTREAM takes one address: list several in DJANGO_UPSTREAMS")
    return one


def _balance(name: str, value: str) -> str:
    """least_conn (by open connections: long requests and sockets spread evenly) or round_robin
    (nginx's default: in turn)."""
    if value not in BALANCING:
        raise ConfigurationError(f"{name}={value!r} must be one of {', '.join(BALANCING)}")
    return BALANCING[value]


def _server_health(get: Callable[[str, str], str]) -> str:
    """max_fails/fail_timeout of every upstream server: after that many failed attempts (refused,
    reset, timed out) within fail_timeout, the instance gets no request for fail_timeout."""
    try:
        max_fails = int(get("GATEWAY_UPSTREAM_MAX_FAILS", "1"))
    except ValueError:
        max_fails = -1
    if max_fails < 0:
        raise ConfigurationError("GATEWAY_UPSTREAM_MAX_FAILS must be 0 (never set aside) or a positive number")
    fail_timeout = _positive("GATEWAY_UPSTREAM_FAIL_TIMEOUT", get("GATEWAY_UPSTREAM_FAIL_TIMEOUT", "10"))
    return f"max_fails={max_fails} fail_timeout={fail_timeout}s"


def _servers(addresses: list[str], health: str, *, resolve: bool) -> str:
    """The upstream's server lines. With a resolver, a name (not an address) is looked up again
    while nginx runs (`resolve`, nginx >= 1.27.3), so replicas that come and go behind one name
    (docker compose's `django`) are followed without a reload."""
    lines = []
    for address in addresses:
        host = address.rsplit(":", 1)[0]
        by_name = resolve and not IP_ADDRESS.match(host)
        lines.append(f"        server {address} {health}{' resolve' if by_name else ''};")
    return "\n".join(lines)


def _default_user() -> str:
    """Workers of a master started as root run as the repository's owner, so they can read the
    collected static files wherever the clone lives (nginx's built-in default, nobody, often
    cannot). Unprivileged masters cannot switch users: no directive then."""
    if os.geteuid() != 0:
        return ""
    import pwd

    try:
        return pwd.getpwuid(REPO_DIR.stat().st_uid).pw_name
    except KeyError:
        return "root"


def _access_log(value: str) -> str:
    """A path gets the query-free `taskflow` format; `off` turns the access log off."""
    return "off" if value == "off" else f"{value} taskflow"


def _trusted_proxies(value: str) -> list[str]:
    """GATEWAY_TRUSTED_PROXIES: the addresses or CIDR ranges (comma-separated) of the proxies in
    front of the gateway whose X-Forwarded-For and X-Forwarded-Proto are believed."""
    proxies = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            network = ipaddress.ip_network(part, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"GATEWAY_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR range (e.g. 10.0.0.0/8)"
            ) from None
        proxies.append(str(network) if "/" in part else str(network.network_address))
    return proxies


def _real_ip(proxies: list[str]) -> dict[str, str]:
    if not proxies:
        return {
            "real_ip_directives": "    # No trusted proxy: the peer's address is the client's.",
            "trusted_proxy_ranges": "        # none",
        }
    lines = [f"    set_real_ip_from {proxy};" for proxy in proxies]
    return {
        "real_ip_directives": "\n".join([*lines, "    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]),
        "trusted_proxy_ranges": "\n".join(f"        {proxy} 1;" for proxy in proxies),
    }


def settings_from(env: Mapping[str, str]) -> dict[str, str]:
    """The template's values, from the environment with TaskFlow's defaults."""

    def get(name: str, default: str) -> str:
        value = env.get(name, "")
        return value if value != "" else default

    listen = get("GATEWAY_LISTEN", f"{get('GATEWAY_HOST', '127.0.0.1')}:{get('GATEWAY_PORT', '8080')}")
    if not (ADDRESS.match(listen) or listen.isdigit()):
        raise ConfigurationError(f"GATEWAY_LISTEN={listen!r} is not host:port or a port")
    django = _django_upstreams(get)
    realtime = _addresses("REALTIME_UPSTREAMS", get("REALTIME_UPSTREAMS", f"127.0.0.1:{get('REALTIME_PORT', '8001')}"))
    resolver = get("GATEWAY_RESOLVER", "")
    if resolver and not RESOLVER.match(resolver):
        raise ConfigurationError(f"GATEWAY_RESOLVER={resolver!r} is not a DNS server address (e.g. 127.0.0.11)")
    health = _server_health(get)
    ping_interval = float(get("WS_PING_INTERVAL", "20"))
    ping_timeout = float(get("WS_PING_TIMEOUT", "20"))
    # Longer than a full ping round (interval + timeout) with room to spare: the relay, not the
    # gateway, is the one that decides a quiet peer is dead.
    ws_timeout = _positive(
        "GATEWAY_WS_TIMEOUT", get("GATEWAY_WS_TIMEOUT", str(max(60, int(2 * (ping_interval + ping_timeout)))))
    )
    if ws_timeout <= ping_interval + ping_timeout:
        raise ConfigurationError(
            f"GATEWAY_WS_TIMEOUT={ws_timeout} must exceed WS_PING_INTERVAL + WS_PING_TIMEOUT "
            f"({ping_interval + ping_timeout:g} s), or idle sockets are cut by the gateway"
        )
    worker_connections = _positive("GATEWAY_WORKER_CONNECTIONS", get("GATEWAY_WORKER_CONNECTIONS", "4096"))
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * worker_connections + 64
    rlimit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    user = get("GATEWAY_USER", _default_user())
    runtime_dir = _repo_path(get("GATEWAY_RUNTIME_DIR", "var/gateway"))
    return {
        "user_directive": f"user {user};\n" if user else "",
        "worker_processes": get("GATEWAY_WORKER_PROCESSES", "auto"),
        "worker_rlimit_nofile": str(rlimit),
        "worker_connections": str(worker_connections),
        "runtime_dir": str(runtime_dir),
        "error_log_level": get("GATEWAY_ERROR_LOG_LEVEL", "warn"),
        "access_log": _access_log(get("GATEWAY_ACCESS_LOG", "/dev/stdout")),
        "listen": listen,
        "resolver_directive": f"resolver {resolver} valid=10s ipv6=off;\n    " if resolver else "",
        "django_balance": _balance("GATEWAY_DJANGO_BALANCE", get("GATEWAY_DJANGO_BALANCE", "least_conn")),
        "django_servers": _servers(django, health, resolve=bool(resolver)),
        "realtime_balance": _balance("GATEWAY_REALTIME_BALANCE", get("GATEWAY_REALTIME_BALANCE", "least_conn")),
        "realtime_servers": _servers(realtime, health, resolve=bool(resolver)),
        "static_root": str(_repo_path(get("STATIC_ROOT", "django-core/staticfiles"))).rstrip("/"),
        "web_root": str(_repo_path(get("GATEWAY_WEB_ROOT", str(GATEWAY_DIR / "web")))),
        "client_max_body_size": _matching(
            "GATEWAY_CLIENT_MAX_BODY_SIZE", get("GATEWAY_CLIENT_MAX_BODY_SIZE", "4m"), SIZE, "4m"
        ),
        "api_read_timeout": f"{_positive('GATEWAY_API_TIMEOUT', get('GATEWAY_API_TIMEOUT', '60'))}s",
        "auth_rate": _matching("GATEWAY_AUTH_RATE", get("GATEWAY_AUTH_RATE", "10r/s"), RATE, "10r/s"),
        "auth_burst": str(_positive("GATEWAY_AUTH_BURST", get("GATEWAY_AUTH_BURST", "20"))),
        "ws_handshake_rate": _matching(
            "GATEWAY_WS_HANDSHAKE_RATE", get("GATEWAY_WS_HANDSHAKE_RATE", "10r/s"), RATE, "10r/s"
        ),
        "ws_handshake_burst": str(_positive("GATEWAY_WS_HANDSHAKE_BURST", get("GATEWAY_WS_HANDSHAKE_BURST", "40"))),
        "ws_connections_per_ip": str(
            _positive("GATEWAY_WS_CONNECTIONS_PER_IP", get("GATEWAY_WS_CONNECTIONS_PER_IP", "100"))
        ),
        "ws_timeout": f"{ws_timeout}s",
        **_real_ip(_trusted_proxies(get("GATEWAY_TRUSTED_PROXIES", ""))),
    }


def render(values: Mapping[str, str], template: str | None = None) -> str:
    text = TEMPLATE.read_text() if template is None else template
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    if missing:
        raise ConfigurationError(f"no value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def write(output_dir: Path, env: Mapping[str, str]) -> Path:
    """Renders into output_dir (nginx.conf and the files it includes); returns nginx.conf's path."""
    values = settings_from(env)
    output_dir.mkdir(parents=True, exist_ok=True)
    Path(values["runtime_dir"]).mkdir(parents=True, exist_ok=True)
    for name in INCLUDED_FILES:
        shutil.copyfile(GATEWAY_DIR / name, output_dir / name)
    config = output_dir / "nginx.conf"
    config.write_text(render(values))
    return config


def find_nginx(env: Mapping[str, str]) -> str:
    explicit = env.get("NGINX_BIN")
    if explicit:
        return explicit
    # /usr/sbin is not on an ordinary user's PATH on Debian.
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise ConfigurationError(
        "nginx is not installed. Debian/Ubuntu: `sudo apt-get install -y nginx` (`make run` does it when "
        "run as root), or set NGINX_BIN to its path."
    )


def nginx_command(nginx: str, config: Path, runtime_dir: str, *extra: str) -> list[str]:
    # -p keeps every relative path nginx might use under the runtime directory; -e sends the
    # start-up errors (before the config is read) to stderr rather than /var/log/nginx.
    return [nginx, "-p", runtime_dir + "/", "-c", str(config), "-e", "stderr", *extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None, help="directory for nginx.conf (default var/gateway)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--check", action="store_true", help="run `nginx -t` on the result")
    action.add_argument("--exec", action="store_true", help="then run nginx in the foreground (Procfile)")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    try:
        values = settings_from(env)
        output = args.output or _repo_path(env.get("GATEWAY_RUNTIME_DIR") or "var/gateway")
        config = write(output, env)
        if not (args.check or args.exec):
            print(f"==> Gateway configuration written to {config}")
            return 0
        nginx = find_nginx(env)
    except ConfigurationError as error:
        print(f"!! gateway: {error}", file=sys.stderr)
        return 2
    if args.check:
        command = nginx_command(nginx, config, values["runtime_dir"], "-t", "-q")
        return subprocess.run(command, check=False).returncode  # noqa: S603 (our own nginx and config)
    sys.stdout.flush()
    os.execv(nginx, nginx_command(nginx, config, values["runtime_dir"], "-g", "daemon off;"))  # noqa: S606
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
