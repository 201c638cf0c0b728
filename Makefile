# Two commands on a fresh machine: `make book` builds the site, `make test` runs every test.
# Both create .venv from requirements.txt first (once; again when the pins change).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs `alembic` and jupyter-book runs kernels from PATH, so the venv comes first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test sysdeps clean lint student-release

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip check
	touch $@

# Warnings are errors; --keep-going reports all of them before failing.
book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

# The public repo that Binder, Colab and the hub launch from: the built site (docs/), chapter
# notebooks, exercises/, binder/, the helper package and a student README; never solutions/,
# hidden tests, autograder/ or nbgrader_config.py. Push _build/student as the student repo.
student-release: book
	$(BIN)/python tools/student_release.py --site _build/html --out _build/student

# Debian packages the tests need: chromium for the browser tests, bubblewrap for the sandbox,
# openssl for the Dask tests' throwaway certificate authority, postgresql for the gradebook tests
# (they run a throwaway server of their own; Debian's own cluster, if the package starts one, is
# never used).
sysdeps:
	@command -v chromium >/dev/null && command -v bwrap >/dev/null && command -v openssl >/dev/null && \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium bubblewrap openssl postgresql >/dev/null)

# Builds the site first, exactly as `make book` does, so CI runs both README commands; the
# tests' own build is then a no-change rebuild from the execution cache.
test: book sysdeps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf _build .venv .pytest_cache .hypothesis gradebook.db
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
