# The two commands: `make validate` checks the repository, `make test` runs the tests.
# Each sets up what it needs on first run (.venv/ with shipyard, pinned helm and kubectl).

PYTHON ?= python3
SHIPYARD := .venv/bin/shipyard
SHARED_MIRROR := $(abspath ../shared/mirror)

.PHONY: setup validate test bench clean

setup:
	@$(PYTHON) tools/install.py

validate: setup
	$(SHIPYARD) validate

# The type checker first, then the tests; tests read upstream artifacts from a
# mirror, ../shared/mirror when present.
test: setup
	@if [ -z "$$SHIPYARD_MIRROR" ] && [ -d "$(SHARED_MIRROR)" ]; then export SHIPYARD_MIRROR="$(SHARED_MIRROR)"; fi; \
	.venv/bin/mypy && .venv/bin/pytest -q tests

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

clean:
	rm -rf .venv .venv-* .shipyard-cache
