# The two commands: `make run` runs the exchange, `make test` passes the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run manage observe test lint typecheck contracts pytest pytest-compiled engine install clean

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
	$(PY) -m matching.mypyc_build --if-possible || echo "the engine's mypyc build failed (above): the pure-Python engine runs"
	$(PY) -m spot.embedded_redis --data-dir var/redis -- bash scripts/run.sh

# A manage.py command beside a running `make run`, on its database and its embedded Redis
# (or on REDIS_URL's): make manage CMD="deposit alice USDT 100"
manage: export DEBUG ?= 1
manage: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
manage: $(STAMP)
	@$(PY) -m spot.embedded_redis --attach var/redis -- $(PY) manage.py $(CMD)

# The engine's optional mypyc build for these sources (docs/adr/0012-engine-speed.md), used by
# every process started after it; skipped, with a note, where there is no C compiler.
engine: $(STAMP)
	$(PY) -m matching.mypyc_build --if-possible

# Prometheus (and the Redis and MySQL exporters, when installed) beside a running `make run`.
observe: export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
observe: $(STAMP)
	bash scripts/observe.sh

# The type checker and the tests load the settings, which need a secret key.
TEST_SECRET_KEY := test-only-secret-key-0123456789abcdefghijklmnop
typecheck pytest pytest-compiled: export SECRET_KEY ?= $(TEST_SECRET_KEY)

test: $(STAMP) lint typecheck contracts pytest pytest-compiled

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

# The suite mostly waits (worker and server processes starting, results polled for), so it
# can run in parallel processes (pytest-xdist, `--dist loadgroup` in pyproject.toml); each has
# its own test database and every test its own Redis key prefix. PYTEST_WORKERS=3: three (README).
PYTEST_WORKERS ?= 0
pytest: $(STAMP)
	@mkdir -p var/static
	SPOT_ENGINE=pure $(PY) -m spot.embedded_redis -- $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The engine's tests again, against its mypyc build (made here if need be): both builds pass them.
pytest-compiled: $(STAMP)
	@build=$$($(PY) -m matching.mypyc_build --if-possible) && if [ -n "$$build" ]; then \
		echo "tests/matching against $$build"; \
		SPOT_ENGINE=compiled $(PY) -m pytest -n $(PYTEST_WORKERS) tests/matching; \
	else echo "pytest-compiled: skipped, the compiled engine cannot be built here"; fi

clean:
	rm -rf $(VENV) var/static var/engine-build .mypy_cache .pytest_cache .ruff_cache
