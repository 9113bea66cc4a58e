# TaskFlow — `make run` starts everything, `make test` runs every suite. Both set up what they
# need on a fresh Debian/Ubuntu machine with Python 3.11+.

SHELL := /bin/bash
-include .env
export

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-installed
REQUIREMENTS := requirements-dev.txt django-core/requirements.txt contracts/pyproject.toml
MANAGE := cd django-core && ../$(PY) manage.py

.PHONY: run test lint fmt migrate shell bench keys deps services db messages demo schema help

help:
	@echo "make run     start the whole stack (sets everything up first)"
	@echo "make test    run every test suite against the real PostgreSQL and Redis"
	@echo "make lint    ruff + mypy;  make fmt  format the code"
	@echo "make bench   benchmarks (figures printed, never asserted)"
	@echo "make migrate | make shell | make keys | make demo"

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

db: services
	@$(PY) scripts/ensure_database.py

messages: deps
	@$(MANAGE) compilemessages --ignore=.venv -v 0 && echo "==> Compiled translations (locales/)"

migrate: keys db
	@echo "==> Applying migrations"
	@$(MANAGE) migrate --noinput -v 1

demo: migrate
	@$(MANAGE) seed_demo

run: keys db messages migrate demo
	@$(MANAGE) collectstatic --noinput -v 0
	@echo ""
	@echo "==> Starting TaskFlow (Ctrl-C stops everything)"
	@echo "    API          http://127.0.0.1:$${DJANGO_PORT:-8000}/api/"
	@echo "    API docs     http://127.0.0.1:$${DJANGO_PORT:-8000}/api/docs"
	@echo "    Admin        http://127.0.0.1:$${DJANGO_PORT:-8000}/admin/  (admin@example.com / taskflow-admin)"
	@echo "    Health       http://127.0.0.1:$${DJANGO_PORT:-8000}/api/health"
	@echo "    WebSockets   ws://127.0.0.1:$${REALTIME_PORT:-8001}/ws/notifications?ticket=...  (health: /ws/health)"
	@echo "    Demo logins  ada@example.com / taskflow-demo, bob@example.com / taskflow-demo"
	@echo ""
	@$(VENV)/bin/honcho -f Procfile start

test: keys services messages
	@echo "==> Lint (ruff)"
	@$(VENV)/bin/ruff check .
	@echo "==> Test suites (PostgreSQL + Redis, for real)"
	@$(VENV)/bin/pytest -n 2 -m "not fuzz" $(PYTEST_ARGS)
	@echo "==> Schema-driven fuzzing of the API (schemathesis)"
	@$(VENV)/bin/pytest -m fuzz $(PYTEST_ARGS)

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

bench: keys services
	@$(PY) -m bench.django_api $(BENCH_ARGS)
	@$(PY) -m bench.events $(BENCH_ARGS)
	@$(PY) -m bench.realtime $(BENCH_ARGS)
