# The README's two commands are `make demo` and `make test`; both install what they need first.
VENV ?= .venv
export NO_MKDOCS_2_WARNING := 1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit bench docs-check compat compat-all

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh

# The main job: a real 2-worker elastic job through the container (c10d, embedded TCPStore).
demo: $(STAMP)
	$(BIN)/rendezvous-di run --config containers/local.yaml --nproc-per-node 2 examples/allreduce.py

# The whole suite: lint, types, then every test (etcd and network-namespace tests included).
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check rendezvous_di tests containers examples benchmarks docs scripts setup.py
	$(BIN)/ruff format --check rendezvous_di tests containers examples benchmarks docs scripts setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

# Benchmarks: ratios against torch measured in the same run -> benchmarks/results/.
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Screenshots of every docs page (site-shots/*.png) for a person to look at; installs Debian's
# chromium on demand. The rendering itself is tested by tests/docs (parsed HTML).
docs-check: $(STAMP)
	VENV=$(VENV) bash scripts/docs_check.sh

# Compatibility matrix (not CI): the whole suite in .venv-compat-torchX-diY against another torch
# and dependency-injector; the counts land in docs/compat-results/ (docs/compatibility.md).
#   make compat TORCH=2.6.0 [DI=4.49.1]
DI ?= 4.49.1
compat:
	@test -n "$(TORCH)" || { echo "error: TORCH is required: make compat TORCH=2.6.0 [DI=4.49.1]" >&2; exit 2; }
	TORCH=$(TORCH) DI=$(DI) bash scripts/compat.sh

# Every row of docs/compatibility.md, one after another, on this tree (about 25 minutes a row).
# 2.15.0 needs pip's cap lifted on this machine: its own PIP_CONFIG_FILE=/dev/null.
compat-all:
	TORCH=2.6.0 DI=4.41.0 bash scripts/compat.sh
	TORCH=2.6.0 DI=4.49.1 bash scripts/compat.sh
	TORCH=2.13.0 DI=4.49.1 bash scripts/compat.sh
	TORCH=2.14.1 DI=4.49.1 bash scripts/compat.sh
	PIP_CONFIG_FILE=/dev/null TORCH=2.15.0 DI=4.49.1 bash scripts/compat.sh
