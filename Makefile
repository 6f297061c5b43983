# Everything bootstraps a local virtual environment from plain python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench schemas samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check provisioner tests scripts
	$(BIN)/ruff format --check provisioner tests scripts
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider --cov=provisioner --cov-branch --cov-report=term

bench: $(STAMP)
	for b in scripts/bench_*.py; do $(BIN)/python $$b || exit 1; done

schemas: $(STAMP)
	$(BIN)/hestia-provisioner schema --write

samples: $(STAMP)
	$(BIN)/python scripts/make_demo_samples.py

clean:
	rm -rf $(VENV) build .provisioner .pytest_cache .mypy_cache .ruff_cache .coverage
