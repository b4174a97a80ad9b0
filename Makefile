# The two commands: `make run` runs the exchange, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts pytest migrate seed install clean

$(STAMP): requirements.txt requirements-dev.txt scripts/ensure-system-packages.sh
	bash scripts/ensure-system-packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# Local development defaults; every one of them can be overridden from the environment.
run: export DEBUG ?= 1
run: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
run: $(STAMP)
	@mkdir -p var
	$(PY) manage.py migrate --no-input -v0
	$(PY) manage.py collectstatic --no-input -v0
	@$(PY) manage.py shell --no-imports -c "from exchange.models import Market; raise SystemExit(0 if Market.objects.exists() else 1)" \
		|| $(PY) manage.py seed_demo
	@echo "Spot: admin http://127.0.0.1:$${SPOT_PORT:-8000}/admin/  metrics http://127.0.0.1:$${SPOT_PORT:-8000}/metrics  (Ctrl-C stops everything)"
	@test ! -f var/demo-credentials.json || echo "Demo logins and API keys: var/demo-credentials.json"
	@{ cat Procfile; echo; $(PY) manage.py worker_procfile; } > var/Procfile
	$(PY) -m spot.embedded_redis --data-dir var/redis -- $(VENV)/bin/honcho -f var/Procfile -d . start

# The type checker and the tests load the settings, which need a secret key.
TEST_SECRET_KEY := test-only-secret-key-0123456789abcdefghijklmnop
typecheck pytest: export SECRET_KEY ?= $(TEST_SECRET_KEY)

test: $(STAMP) lint typecheck contracts pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP)
	@mkdir -p var/static
	$(PY) -m spot.embedded_redis -- $(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/static .mypy_cache .pytest_cache .ruff_cache
