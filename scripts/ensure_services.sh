#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL. On a fresh Debian/Ubuntu
# machine, as root, it installs and starts them from the OS packages; otherwise it says exactly
# what to start. Used by `make run` and `make test`.
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/taskflow}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
PY="${PY:-.venv/bin/python}"

hostport() {  # prints "host port" of a URL, with the given default port
  "$PY" - "$1" "$2" <<'PYEOF'
import sys
from urllib.parse import urlsplit
url = urlsplit(sys.argv[1])
print(url.hostname or "127.0.0.1", url.port or int(sys.argv[2]))
PYEOF
}

reachable() {  # host port -> 0 when something accepts TCP connections there
  "$PY" - "$1" "$2" <<'PYEOF'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PYEOF
}

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then return 1; fi
  echo "==> Installing $* from the OS packages"
  if [[ ! -f /var/lib/apt/periodic/taskflow-updated ]]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/taskflow-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # host port name
  for _ in $(seq 1 30); do reachable "$1" "$2" && return 0; sleep 0.5; done
  return 1
}

read -r PG_HOST PG_PORT < <(hostport "$DATABASE_URL" 5432)
if reachable "$PG_HOST" "$PG_PORT"; then
  echo "==> PostgreSQL is up at $PG_HOST:$PG_PORT"
elif is_local "$PG_HOST"; then
  if ! command -v pg_ctlcluster >/dev/null; then
    apt_install postgresql || true
  fi
  if command -v pg_ctlcluster >/dev/null && [[ $(id -u) -eq 0 ]]; then
    version=$(ls /etc/postgresql | sort -V | tail -1)
    echo "==> Starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    # A freshly installed cluster asks for a password over TCP: trust loopback for development.
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [[ -f "$hba" ]] && ! grep -q "taskflow-dev" "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust  # taskflow-dev\nhost all all ::1/128 trust  # taskflow-dev' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    fi
  fi
  if ! wait_for "$PG_HOST" "$PG_PORT"; then
    echo "!! PostgreSQL is not reachable at $PG_HOST:$PG_PORT." >&2
    echo "   Start it (e.g. 'sudo pg_ctlcluster 15 main start' or 'sudo systemctl start postgresql')," >&2
    echo "   or point DATABASE_URL at a running server." >&2
    exit 1
  fi
  echo "==> PostgreSQL is up at $PG_HOST:$PG_PORT"
else
  echo "!! PostgreSQL at $PG_HOST:$PG_PORT (DATABASE_URL) is not reachable; start it or fix DATABASE_URL." >&2
  exit 1
fi

read -r REDIS_HOST REDIS_PORT < <(hostport "$REDIS_URL" 6379)
if reachable "$REDIS_HOST" "$REDIS_PORT"; then
  echo "==> Redis is up at $REDIS_HOST:$REDIS_PORT"
elif is_local "$REDIS_HOST"; then
  command -v redis-server >/dev/null || apt_install redis-server || true
  if command -v redis-server >/dev/null; then
    echo "==> Starting Redis on port $REDIS_PORT"
    mkdir -p /tmp/taskflow-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /tmp/taskflow-redis --logfile /tmp/taskflow-redis/redis.log || true
  fi
  if ! wait_for "$REDIS_HOST" "$REDIS_PORT"; then
    echo "!! Redis is not reachable at $REDIS_HOST:$REDIS_PORT." >&2
    echo "   Start it (e.g. 'sudo systemctl start redis-server' or 'redis-server --daemonize yes')," >&2
    echo "   or point REDIS_URL at a running server." >&2
    exit 1
  fi
  echo "==> Redis is up at $REDIS_HOST:$REDIS_PORT"
else
  echo "!! Redis at $REDIS_HOST:$REDIS_PORT (REDIS_URL) is not reachable; start it or fix REDIS_URL." >&2
  exit 1
fi
