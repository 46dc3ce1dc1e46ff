# The two commands a newcomer needs: `make run` and `make test`.
.DEFAULT_GOAL := run
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
# The development lock (the runtime's packages plus the tools); production installs requirements/runtime.txt alone.
LOCK := requirements/dev.txt
STAMP := $(VENV)/.installed-dev.txt
PYTEST_ARGS ?=
PACKAGES := app.py core organisation collection payments agents workers commands operations drill

.PHONY: venv run test lint bench drill lock translations

venv: $(STAMP)

# Re-install only when the lock's content changed: the stamp is a copy of the last lock installed. Every package is
# checked against the lock's hashes (--require-hashes), dependencies included.
$(STAMP): $(LOCK)
	@set -e; \
	if [ ! -x $(PY) ]; then \
		if command -v python3.11 >/dev/null 2>&1; then base=python3.11; else base=python3; fi; \
		$$base -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
			|| { echo "make: Python 3.11 or newer is needed; found $$($$base --version 2>&1)" >&2; exit 1; }; \
		$$base -m venv $(VENV); \
	fi
	@if cmp -s $(LOCK) $(STAMP); then touch $(STAMP); else \
		echo "$(PY) -m pip install --require-hashes -r $(LOCK)"; \
		$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK) && cp $(LOCK) $(STAMP); \
	fi

# Regenerate both locks from requirements/*.in, with hashes, by pip-tools in a throwaway venv of its own (never
# .venv). Existing pins are kept unless an .in file asks otherwise; LOCK_ARGS=--upgrade moves everything forward.
LOCK_VENV ?= /tmp/iuran-lock-venv
LOCK_ARGS ?=
LOCK_FLAGS := --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --quiet
lock:
	@[ -x $(LOCK_VENV)/bin/pip-compile ] || { python3.11 -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools==7.6.2; }
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/runtime.txt requirements/runtime.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements/dev.txt requirements/dev.in

# The texts of every package into its Indonesian catalog (<package>/translations/id/LC_MESSAGES/messages.po):
# translate the new ones there (msgstr) and commit; the app compiles the catalogs when it starts.
translations: venv
	$(PY) scripts/translations.py update

run: venv
	$(PY) scripts/run.py

test: venv
	bash scripts/ensure_system_packages.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check $(PACKAGES) scripts tests deploy
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
