# Both targets bootstrap .venv on first use; only Python 3.11+ is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(BIN)/ltxkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/ltxkit
	$(BIN)/ltxkit demo -o demo-out

test: $(BIN)/ltxkit
	$(BIN)/python -m pytest -q --nbmake tests notebooks
	$(BIN)/ruff check ltxkit tests benchmarks
	$(BIN)/mypy

bench: $(BIN)/ltxkit
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done
