# The two commands a newcomer needs: `make run` and `make test`.
.DEFAULT_GOAL := run
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements.txt
PYTEST_ARGS ?=
PACKAGES := app.py core organisation collection payments agents workers commands operations drill

.PHONY: venv run test lint bench drill

venv: $(STAMP)

# Re-install only when requirements.txt's content changed: the stamp is a copy of the last one installed.
$(STAMP): requirements.txt
	@set -e; \
	if [ ! -x $(PY) ]; then \
		if command -v python3.11 >/dev/null 2>&1; then base=python3.11; else base=python3; fi; \
		$$base -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
			|| { echo "make: Python 3.11 or newer is needed; found $$($$base --version 2>&1)" >&2; exit 1; }; \
		$$base -m venv $(VENV); \
	fi
	@if cmp -s requirements.txt $(STAMP); then touch $(STAMP); else \
		echo "$(PY) -m pip install -r requirements.txt"; \
		$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt && cp requirements.txt $(STAMP); \
	fi

run: venv
	$(PY) scripts/run.py

test: venv
	bash scripts/ensure_system_packages.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check $(PACKAGES) scripts tests
	$(VENV)/bin/mypy $(PACKAGES)
	$(VENV)/bin/lint-imports

bench: venv
	@if [ -f bench/__main__.py ]; then $(PY) -m bench; else echo "make: no bench/__main__.py yet"; fi

# The fault drills (drill/): kill, stop and hang the real processes under load on SQLite and PostgreSQL, then check
# the ledger. DRILL_ARGS="--short" is the form the tests run; "--scenario redis_hang" runs one.
DRILL_ARGS ?=
drill: venv
	IURAN_SKIP_BROWSER=1 bash scripts/ensure_system_packages.sh
	$(PY) -m drill $(DRILL_ARGS)
