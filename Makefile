# Hotline — the two commands: `make run` and `make test`.
# Installs come from pyproject.toml + uv.lock only (uv itself is pinned below).

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint audit typecheck pytest bench bench-smoke bench-load schema permissions vendor-graphiql clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Quiet: a first `make run` would otherwise list every one of the ~200 packages before
# the stack starts; errors are still shown.
$(BIN)/hotline: $(UV) pyproject.toml uv.lock
	@echo "Installing Hotline and its dependencies into $(VENV)/ (from uv.lock) …"
	@$(UV) sync --frozen --quiet --python $(PYTHON)
	@touch $@

install: $(BIN)/hotline

run: install
	$(BIN)/hotline run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/deptry platform tenants schema workers
	UV=$(UV) BIN=$(BIN) bash .ci/audit

# Known vulnerabilities in uv.lock (pip-audit); skipped with a notice where PyPI's
# advisory data is unreachable, unless HOTLINE_AUDIT_REQUIRED=1 (.ci/audit).
audit: install
	UV=$(UV) BIN=$(BIN) bash .ci/audit

typecheck: install
	$(BIN)/mypy

# Test modules are isolated (own database, Redis prefix, bucket), so they run on
# PYTEST_WORKERS processes, a module per process at a time, the slowest modules first
# (tests/conftest.py SLOW_MODULES; collection order, not xdist's). Coverage is measured on
# the four source roots and its total printed; pytest lists the ten slowest tests (a
# module's setup counts as its first test's): where to look when the suite nears its
# 10-minute budget.
# pytest exits 5 when it collected nothing: we always have tests, so that fails too.
PYTEST_WORKERS ?= 2
pytest: install
	@$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=10 --cov --cov-report=; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest ran no tests" >&2; exit 1; fi; \
	if [ $$rc -eq 0 ]; then printf 'coverage: %s%%\n' "$$($(BIN)/coverage report --format=total)"; fi; \
	exit $$rc

test: lint typecheck pytest

bench: install
	$(BIN)/python -m benchmarks

# Every benchmark at a tiny size (figures printed, not asserted): CI's guard against rot.
bench-smoke: install
	$(BIN)/python -m benchmarks --smoke

# A province load run over loopback (locust): one API process + a worker, then two API
# processes; BENCH_LOAD_SECONDS (default 600) per configuration, BENCH_LOAD_USERS (30).
bench-load: install
	$(BIN)/python -m benchmarks load

schema: install
	$(BIN)/hotline schema export -o docs/schema.graphql

permissions: install
	$(BIN)/hotline permissions -o docs/permissions.md

# GraphiQL, React and the explorer plugin from the npm registry into the package
# (committed: the API serves them with no network at run time). Needs npm.
vendor-graphiql:
	sh schema/scripts/vendor_graphiql.sh

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
	@echo "kept .hotline/ (your local data); remove it by hand to start over"
