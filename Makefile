# TaskFlow — `make run` starts everything, `make test` runs every suite. Both set up what they
# need on a fresh Debian/Ubuntu machine with Python 3.11+.

SHELL := /bin/bash
-include .env
export

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed
REQUIREMENTS := requirements-dev.txt django-core/requirements.txt fastapi-realtime/requirements.txt telegram-bot/requirements.txt contracts/pyproject.toml
MANAGE := cd django-core && ../$(PY) manage.py

.PHONY: run test test-e2e test-scaling test-faults lint fmt migrate shell bench keys deps services tools db messages catalogs demo static gateway schema compose-config docker-env help

help:
	@echo "make run     start the whole stack (sets everything up first)"
	@echo "make test    run every test suite against the real PostgreSQL and Redis"
	@echo "make lint    ruff + mypy;  make fmt  format the code"
	@echo "make bench   benchmarks (figures printed, never asserted)"
	@echo "make messages  extract and compile every translation catalog (locales/)"
	@echo "make migrate | make shell | make keys | make demo | make gateway (render + check nginx config)"
	@echo "make test-e2e  only the end-to-end suite (the whole stack behind nginx)"
	@echo "make test-faults  only the fault suite (processes killed, engines restarted under load)"
	@echo "make test-scaling  only the Redis Cluster / Sentinel / PgBouncer suites (engines started by the tests)"
	@echo "make compose-config  validate docker-compose.yml;  make docker-env  secrets for docker compose"

$(STAMP): $(REQUIREMENTS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' \
		|| { echo "!! Install Python 3.11 or newer (or run with PYTHON=/path/to/python3.11)."; exit 1; }
	@test -x $(PY) || { echo "==> Creating the virtualenv in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> Installing pinned Python dependencies"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

deps: $(STAMP)

keys: deps
	@$(PY) scripts/jwt_keys.py

services: deps
	@PY=$(PY) scripts/ensure_services.sh

# nginx for the gateway; docker-compose only to validate docker-compose.yml in the tests;
# chromium for the web client's browser test (end-to-end suite); pgbouncer and redis-sentinel
# for the scaling suites (tests/engines start them, and a Redis Cluster, on free ports).
tools:
	@scripts/ensure_tools.sh nginx $(if $(filter test test-e2e compose-config,$(MAKECMDGOALS)),docker-compose) \
		$(if $(filter test test-e2e,$(MAKECMDGOALS)),chromium) \
		$(if $(filter test test-scaling,$(MAKECMDGOALS)),pgbouncer redis-sentinel)

db: services
	@$(PY) scripts/ensure_database.py

# Every catalog in locales/ (Django's django.po, the bot's bot.po, the web client's web.po): extract
# the messages from the sources, merge them into each language's catalog, then compile. New
# entries come out empty: `manage.py catalogs_check` (in `make test`) lists what to translate.
messages: deps
	@echo "==> Extracting messages (django-core, telegram-bot, gateway/web) into locales/"
	@$(MANAGE) makemessages --all --ignore=.venv --no-obsolete -v 0
	@cd telegram-bot && xgettext --language=Python --from-code=UTF-8 --no-location --keyword=_ --keyword=__ \
		--keyword=ngettext:1,2 -o ../locales/bot.pot $$(find taskflow_bot -name '*.py' | sort)
	@for po in locales/*/LC_MESSAGES/bot.po; do msgmerge --quiet --update --no-fuzzy-matching --backup=none "$$po" locales/bot.pot; done
	@$(PY) scripts/web_catalogs.py --extract
	@$(MAKE) --no-print-directory catalogs

# Compiles the catalogs (.mo for Django and the bot, JSON for the web client): build output.
catalogs: deps
	@$(MANAGE) compilemessages --ignore=.venv -v 0
	@$(PY) scripts/web_catalogs.py
	@echo "==> Compiled translations (locales/)"

migrate: keys db
	@echo "==> Applying migrations"
	@$(MANAGE) migrate --noinput -v 1

demo: migrate
	@$(MANAGE) seed_demo

static: keys
	@$(MANAGE) collectstatic --noinput -v 0 && echo "==> Collected static files (served by the gateway)"

# Renders var/gateway/nginx.conf from gateway/nginx.conf.template and checks it with `nginx -t`.
gateway: deps tools
	@$(PY) gateway/render.py --check && echo "==> Gateway configuration OK (var/gateway/nginx.conf)"

GATEWAY_URL = http://$${GATEWAY_HOST:-127.0.0.1}:$${GATEWAY_PORT:-8080}

run: keys db catalogs migrate demo static gateway
	@echo ""
	@echo "==> Starting TaskFlow (Ctrl-C stops everything)"
	@echo "    Gateway      $(GATEWAY_URL)/   (one origin for everything below)"
	@echo "    API          $(GATEWAY_URL)/api/"
	@echo "    API docs     $(GATEWAY_URL)/api/docs"
	@echo "    Admin        $(GATEWAY_URL)/admin/  (admin@example.com / taskflow-admin)"
	@echo "    Health       $(GATEWAY_URL)/api/health"
	@echo "    WebSockets   $(GATEWAY_URL:http%=ws%)/ws/notifications?ticket=...  (health: $(GATEWAY_URL)/ws/health)"
	@echo "    Demo logins  ada@example.com / taskflow-demo, bob@example.com / taskflow-demo"
	@echo "    Behind it    django-core http://127.0.0.1:$${DJANGO_PORT:-8000}, realtime http://127.0.0.1:$${REALTIME_PORT:-8001}"
	@if [ -n "$${TELEGRAM_BOT_TOKEN:-}" ]; then \
		echo "    Telegram bot on: Bot API $${TELEGRAM_API_URL:-https://api.telegram.org}, health http://127.0.0.1:$${BOT_HEALTH_PORT:-8002}/health"; \
	else \
		echo "    Telegram bot off: set TELEGRAM_BOT_TOKEN in .env to start it (README, docs/telegram.md)"; \
	fi
	@echo ""
	@if [ -n "$${TELEGRAM_BOT_TOKEN:-}" ]; then exec $(VENV)/bin/honcho -f Procfile start; \
	else exec $(VENV)/bin/honcho -f Procfile start $$(grep -oE '^[a-z_]+' Procfile | grep -vx bot | tr '\n' ' '); fi

test: keys services tools catalogs
	@echo "==> Lint (ruff)"
	@$(VENV)/bin/ruff check .
	@echo "==> Translations (every language, every catalog)"
	@$(MANAGE) catalogs_check
	@# The scaling suites mostly wait (failovers, engines starting): they run beside the unit
	@# tests and the fuzzing, in a process of their own with a test database and Redis databases
	@# nobody else uses (DATABASE_TEST_NAME, REDIS_TEST_DB, BOT_REDIS_TEST_DB); their output is
	@# shown when they end.
	@mkdir -p var/test-logs
	@echo "==> Scaling suites (Redis Cluster, Sentinel, PgBouncer) started in the background: var/test-logs/scaling.log"
	@rm -f var/test-logs/scaling.rc
	@( DATABASE_TEST_NAME=$${DATABASE_TEST_NAME:-test_taskflow}_bg REDIS_TEST_DB=11 BOT_REDIS_TEST_DB=15 $(VENV)/bin/pytest -m scaling -p no:xdist $(PYTEST_ARGS) \
		> var/test-logs/scaling.log 2>&1; echo $$? > var/test-logs/scaling.rc ) > /dev/null 2>&1 &
	@echo "==> Test suites (PostgreSQL + Redis, for real)"
	@$(VENV)/bin/pytest -n 2 -m "not fuzz and not e2e and not scaling and not faults" $(PYTEST_ARGS) \
		|| { scripts/wait_suite.sh scaling; exit 1; }
	@echo "==> Schema-driven fuzzing of the API (schemathesis)"
	@$(VENV)/bin/pytest -m fuzz $(PYTEST_ARGS) || { scripts/wait_suite.sh scaling; exit 1; }
	@scripts/wait_suite.sh scaling
	@$(MAKE) --no-print-directory test-e2e
	@$(MAKE) --no-print-directory test-faults

# Real Redis Cluster, Sentinel (with failovers) and PgBouncer in transaction mode, started by the
# suites themselves (tests/engines) from the packages `tools` installs; one process (they start
# servers on free ports).
test-scaling: keys services tools catalogs
	@echo "==> Scaling suites (Redis Cluster, Sentinel, PgBouncer: started by the tests)"
	@$(VENV)/bin/pytest -m scaling -p no:xdist $(PYTEST_ARGS)

# The whole stack (nginx, gunicorn, uvicorn, the outbox relay, ...) on free ports with its own
# database and Redis database, driven through the gateway only; one process (it starts servers).
test-e2e: keys services tools catalogs
	@echo "==> End-to-end suite (the whole stack behind nginx)"
	@$(VENV)/bin/pytest -m e2e -p no:xdist tests/e2e $(PYTEST_ARGS)

# Processes killed and engines (their own redis-server, their own PostgreSQL) stopped and restarted
# under load: nothing committed is lost (tests/faults); one process (it starts servers).
test-faults: keys services tools catalogs
	@echo "==> Fault suite (processes killed, engines restarted under load)"
	@$(VENV)/bin/pytest -m faults -p no:xdist tests/faults $(PYTEST_ARGS)

compose-config: deps tools
	@$(VENV)/bin/pytest -q -p no:xdist tests/deploy

# The secrets docker-compose.yml requires, added to .env when missing (random values, a key pair).
docker-env: deps
	@$(PY) scripts/docker_env.py

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy django-core

fmt: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

shell: keys db
	@$(MANAGE) shell

schema: keys
	@$(MANAGE) spectacular --validate --fail-on-warn --file ../docs/openapi.yaml && echo "==> docs/openapi.yaml"

bench: keys services tools
	@$(PY) -m bench.django_api $(BENCH_ARGS)
	@$(PY) -m bench.events $(BENCH_ARGS)
	@$(PY) -m bench.realtime $(BENCH_ARGS)
	@$(PY) -m bench.gateway $(BENCH_ARGS)
	@$(PY) -m bench.board $(BENCH_ARGS)
	@$(PY) -m bench.request_latency $(BENCH_ARGS)
	@$(PY) -m bench.telegram $(BENCH_ARGS)
	@$(PY) -m bench.observability $(BENCH_ARGS)
