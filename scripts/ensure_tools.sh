#!/usr/bin/env bash
# Makes sure the command-line tools TaskFlow runs are installed: `nginx` (the gateway; `make run`
# and the end-to-end tests), `docker-compose` (only to validate docker-compose.yml in
# `make test`; no Docker engine is needed or started), `chromium` (the headless browser of the
# web client's end-to-end test, driven by Playwright), and `pgbouncer` and `redis-sentinel` (the
# scaling suites start their own PgBouncer, Redis Sentinels and Redis Cluster from them: tests/engines;
# `redis-server` and `redis-cli`, for the cluster, come with the Redis that ensure_services.sh
# installs). As root on Debian/Ubuntu it installs what is missing from the OS packages (one
# `apt-get update` per machine); otherwise it says what to install.
#
#   scripts/ensure_tools.sh nginx [docker-compose] [chromium] [pgbouncer] [redis-sentinel]
set -euo pipefail

apt_install() {
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then return 1; fi
  echo "==> Installing $* from the OS packages"
  if [[ ! -f /var/lib/apt/periodic/taskflow-updated ]]; then
    apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/taskflow-updated
  fi
  # No recommends: docker-compose would otherwise pull in the whole Docker engine.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_nginx() {
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx || -x /usr/local/sbin/nginx || -n "${NGINX_BIN:-}" ]]
}

have_chromium() {
  command -v chromium >/dev/null || [[ -x /usr/bin/chromium ]]
}

# The scaling suites start these themselves on free loopback ports (never the packages' own
# system services).
have_pgbouncer() {
  command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]]
}

have_sentinel() {
  command -v redis-sentinel >/dev/null || [[ -x /usr/bin/redis-sentinel ]]
}

# A Compose implementation that can at least parse and validate a file, with no engine.
have_compose() {
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null
}

status=0
for tool in "$@"; do
  case "$tool" in
    nginx)
      if ! have_nginx; then
        apt_install nginx || true
      fi
      if have_nginx; then
        echo "==> nginx is installed ($( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | head -1))"
      else
        echo "!! nginx is not installed: the gateway (port 8080) needs it." >&2
        echo "   Debian/Ubuntu: 'sudo apt-get install -y nginx' (or run this as root), then rerun." >&2
        status=1
      fi
      ;;
    docker-compose)
      if ! have_compose; then
        apt_install docker-compose || true
      fi
      if have_compose; then
        echo "==> Compose is installed (to validate docker-compose.yml)"
      else
        echo "!! Neither 'docker compose' nor 'docker-compose' is installed: the test validating" >&2
        echo "   docker-compose.yml needs one. Debian/Ubuntu: 'sudo apt-get install -y --no-install-recommends docker-compose'." >&2
        status=1
      fi
      ;;
    chromium)
      if ! have_chromium; then
        apt_install chromium || true
      fi
      if have_chromium; then
        echo "==> Chromium is installed (for the web client's browser test)"
      else
        echo "!! Chromium is not installed: the web client's end-to-end test needs it." >&2
        echo "   Debian/Ubuntu: 'sudo apt-get install -y chromium' (or run this as root), then rerun." >&2
        status=1
      fi
      ;;
    pgbouncer)
      if ! have_pgbouncer; then
        apt_install pgbouncer || true
      fi
      if have_pgbouncer; then
        echo "==> PgBouncer is installed (for the scaling suites: transaction pooling)"
      else
        echo "!! PgBouncer is not installed: the scaling suites (tests/scaling) need it." >&2
        echo "   Debian/Ubuntu: 'sudo apt-get install -y pgbouncer' (or run this as root), then rerun." >&2
        status=1
      fi
      ;;
    redis-sentinel)
      if ! have_sentinel; then
        apt_install redis-sentinel || true
      fi
      if have_sentinel; then
        echo "==> Redis Sentinel is installed (for the scaling suites: a failover mid-stream)"
      else
        echo "!! redis-sentinel is not installed: the scaling suites (tests/scaling) need it." >&2
        echo "   Debian/Ubuntu: 'sudo apt-get install -y redis-sentinel' (or run this as root), then rerun." >&2
        status=1
      fi
      ;;
    *)
      echo "!! unknown tool $tool" >&2
      status=1
      ;;
  esac
done
exit $status
