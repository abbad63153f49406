# Two commands for a newcomer: `make run` and `make test`. Each builds .venv on its own.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Flexoraa needs Python 3.11 or newer (found: $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py train_nlu --if-missing
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_leads
	$(PY) manage.py seed_demo_tokens
	$(PY) manage.py seed_demo_channels
	$(PY) manage.py run_stack

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(PY) manage.py makemigrations --check --dry-run > /dev/null \
		|| { echo "Models changed without a migration: run 'manage.py makemigrations'."; exit 1; }
	$(PY) manage.py train_nlu --if-missing --no-register > /dev/null
	$(VENV)/bin/pytest

bench: install
	$(VENV)/bin/pytest tests/load -o addopts="" -p no:cacheprovider -s

# Regenerate requirements.lock after changing pyproject.toml.
lock: install
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
