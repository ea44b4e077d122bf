# nodeconf: every target is idempotent. venv, run, test, lint and bench need only Python 3.11+
# and make; test-ft builds CPython from source (see README, Development).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Where `make test-ft` keeps the free-threaded CPython it builds (outside the repository).
FT_PREFIX ?= $(HOME)/.cache/nodeconf/cpython-3.13-ft
RUN_OUT ?= $(or $(TMPDIR),/tmp)/nodeconf-effective.json
# `make run` follows a fresh copy of examples/ here, so editing it never touches the clone.
RUN_DIR ?= $(or $(TMPDIR),/tmp)/nodeconf-example

.PHONY: venv run test lint bench test-ft clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[kubernetes,test,dev,bench]"
	touch $(STAMP)

## run: the daemon on a fresh copy of the bundled example (a directory laid out like a mounted
## ConfigMap, and the node's labels) in $(RUN_DIR); edit the copy, not examples/.
run: venv
	rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR) && cp -R examples/configmap examples/node-labels $(RUN_DIR)/
	@echo "make run: following a copy of examples/ in $(RUN_DIR) (edit it there)"
	$(BIN)/nodeconf run --source file --path $(RUN_DIR)/configmap \
		--labels-file $(RUN_DIR)/node-labels --write-effective $(RUN_OUT) --status-addr 127.0.0.1:9808

## test: the whole suite on the default interpreter.
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff, ruff format, mypy --strict, import-linter layer contracts.
lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench: the benchmarks under bench/ (ratios against a baseline measured in the same run).
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

## test-ft: the concurrency tests and tests/model on a free-threaded CPython 3.13 (built once,
## then reused).
test-ft:
	bash scripts/test-ft.sh "$(FT_PREFIX)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
