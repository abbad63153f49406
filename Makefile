# Two commands for a newcomer: `make run` and `make test`. Each builds .venv on its own.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Two locks: requirements.lock is the runtime (pyproject's dependencies, all a production
# image installs); requirements-dev.lock adds the dev extra (pytest, Playwright, Schemathesis
# …) at the runtime lock's versions. make run and make test install the development lock.
RUNTIME_LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock

# `make run PORT=8001` where 8000 is taken; SANDBOX_PORT moves the provider sandbox off 8010.
PORT ?= 8000

.PHONY: install run free-port test lint bench lock clean

$(STAMP): $(DEV_LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Flexoraa needs Python 3.11 or newer (found: $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --progress-bar on -r $(DEV_LOCK)
	@touch $(STAMP)

install: $(STAMP)

ifdef SANDBOX_PORT
run: export PROVIDER_SANDBOX_URL = http://127.0.0.1:$(SANDBOX_PORT)
endif

# Standard library only, before the install: a taken port is one line, not minutes later.
free-port:
	@$(PYTHON) -I flexoraa/ports.py --port $(PORT)

# run_stack builds the NLU model when it is missing, beside the web server: the site answers
# while it trains, and the worker that reads messages with it starts when it is ready.
run: free-port install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_leads
	$(PY) manage.py seed_demo_tokens
	$(PY) manage.py seed_demo_channels
	$(PY) manage.py seed_demo_experiments
	$(PY) manage.py run_stack --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(PY) manage.py makemigrations --check --dry-run > /dev/null \
		|| { echo "Models changed without a migration: run 'manage.py makemigrations'."; exit 1; }
	$(PY) manage.py train_nlu --if-missing --no-register > /dev/null
	$(VENV)/bin/pytest

bench: install
	$(VENV)/bin/pytest tests/load -o addopts="" -p no:cacheprovider -s

# Regenerate both locks after changing pyproject.toml: the runtime lock first, then the
# development lock held to its versions, so the tests run what production runs.
lock: install
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 -o $(RUNTIME_LOCK)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--constraint $(RUNTIME_LOCK) -o $(DEV_LOCK)

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
