# Both targets bootstrap on first use; only Python 3.11+ is needed. uv is installed from PyPI into
# .tools/ (pinned below), and .venv is made from uv.lock, so every machine gets the versions CI saw.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
SYNC := $(UV) sync --locked --python $(PYTHON)
BIN := .venv/bin
# The suite runs on every core (pytest-xdist; at most 4 workers): tests marked with the same
# xdist_group share one worker and its session fixtures (the demo run, the browser).
PYTEST_ARGS := -q -n auto --maxprocesses 4 --dist loadgroup --nbmake tests notebooks

.PHONY: demo test lint bench lock test-latest

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The demo needs only the runtime dependencies; --inexact leaves the test tools of `make test` in place.
demo: $(UV)
	$(SYNC) --quiet --inexact
	$(BIN)/ltxkit demo -o demo-out

# With PYTHONDONTWRITEBYTECODE set (it is on these CI machines) Python caches no compiled module, so each
# `ltxkit` process a test starts compiled ~550 modules from source again (~1.5 s). Compile them once here;
# it is incremental (up-to-date files are skipped). Two Python 2 files of scikit-video never compile.
COMPILE := $(BIN)/python -m compileall -q -j 0 -x '/skvideo/measure/(runb|niqe_original)\.py$$' .venv/lib ltxkit

test: $(UV)
	$(SYNC) --quiet --extra dev
	$(COMPILE) >/dev/null
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/ruff check ltxkit tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(UV)
	$(SYNC) --quiet --extra dev
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

# Refresh uv.lock to the newest versions pyproject allows (then run `make test` and commit both).
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# The suite against the newest releases, in a venv of its own: finds an upstream break before the lock
# is refreshed. Not part of CI (its result changes without a commit).
test-latest: $(UV)
	rm -rf .venv-latest
	$(UV) venv --quiet --python $(PYTHON) .venv-latest
	VIRTUAL_ENV=.venv-latest $(UV) pip install --quiet --upgrade -e '.[dev]'
	.venv-latest/bin/python -m pytest $(PYTEST_ARGS)
