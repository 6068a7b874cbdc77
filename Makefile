# Portcullis: `make run` for a local demo, `make test` for the test suite.
# Defaults: SQLite and eagerly run tasks. Export DATABASE_URL and CELERY_BROKER_URL to use
# PostgreSQL and Redis instead (see README.md).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Touched once the project and its test dependencies are installed; redone when pyproject.toml changes.
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Seen by manage.py too: unless PORTCULLIS_ISSUER is set, the issuer, links and emails follow them.
export HOST PORT
CELERYBEAT_SCHEDULE ?= celerybeat-schedule

.DEFAULT_GOAL := help
.PHONY: help install run test lint worker beat soak bench

help:
	@echo "make run     install, migrate, seed the demo tenant and serve on http://$(HOST):$(PORT)/"
	@echo "make test    run the test suite (SQLite and eager tasks unless DATABASE_URL/CELERY_BROKER_URL are set)"
	@echo "make lint    ruff check, and lint-imports: the layers' import contracts (pyproject.toml)"
	@echo "make soak    load and faults: 50 clients for 60 s while PostgreSQL restarts and the worker dies (about 2 minutes)"
	@echo "             SOAK_MODE=cluster: three nodes behind HAProxy and PgBouncer; a node dies, a key rotates, limits count once"
	@echo "make install create $(VENV) and install Portcullis with its test dependencies"
	@echo "make worker  a Celery worker (needs CELERY_BROKER_URL)"
	@echo "make beat    Celery beat, the periodic task scheduler (needs CELERY_BROKER_URL)"
	@echo "make bench   benchmark the token endpoint against untouched django-oauth-toolkit and oidc-provider (see README.md)"

$(PY):
	@echo "Creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	@echo "Installing Portcullis and its test dependencies into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	@$(PY) manage.py migrate --no-input -v 0
	@$(PY) manage.py seed_demo
	@echo
	@echo "Serving on http://$(HOST):$(PORT)/ - log in at http://$(HOST):$(PORT)/admin/ with the admin credentials above."
	@$(PY) manage.py runserver $(HOST):$(PORT)

# The conformance suite's Node clients (oauth4webapi, openid-client), pinned in their lockfile.
NODE_CLIENTS := tests/conformance/node/node_modules/.package-lock.json
$(NODE_CLIENTS): tests/conformance/node/package.json tests/conformance/node/package-lock.json
	@command -v npm >/dev/null || { echo "The conformance suite needs Node.js 20 and npm (Debian: apt-get install nodejs npm)."; exit 2; }
	@echo "Installing the conformance suite's Node clients into tests/conformance/node"
	@cd tests/conformance/node && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The enterprise connections' OpenID provider (panva's oidc-provider), pinned in its lockfile.
FEDERATION_IDP := tests/federation/oidc_provider/node_modules/.package-lock.json
$(FEDERATION_IDP): tests/federation/oidc_provider/package.json tests/federation/oidc_provider/package-lock.json
	@command -v npm >/dev/null || { echo "The federation tests need Node.js 20 and npm (Debian: apt-get install nodejs npm)."; exit 2; }
	@echo "Installing oidc-provider into tests/federation/oidc_provider"
	@cd tests/federation/oidc_provider && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: $(INSTALLED) $(NODE_CLIENTS) $(FEDERATION_IDP)
	@command -v xmlsec1 >/dev/null || { echo "SAML connections sign and verify with xmlsec1 (Debian: apt-get install xmlsec1)."; exit 2; }
	@$(PY) -m pytest -q tests --ignore=tests/bench

# The benchmark (not part of make test): PostgreSQL, wrk, Node.js for its peer (oidc-provider) and the
# serving stacks of the `bench` extra; BENCH_SCALE=1 adds the at-scale run, BENCH_STACK picks the stack.
BENCH_INSTALLED := $(VENV)/.installed-bench
$(BENCH_INSTALLED): pyproject.toml $(INSTALLED)
	@echo "Installing the benchmark's serving stacks into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	@touch $@

bench: $(BENCH_INSTALLED)
	@$(PY) tests/bench/run.py

lint: $(INSTALLED)
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports --no-cache

worker: $(INSTALLED)
	@test -n "$$CELERY_BROKER_URL" || { echo "Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first."; exit 2; }
	@$(PY) -m celery -A portal worker -l info

beat: $(INSTALLED)
	@test -n "$$CELERY_BROKER_URL" || { echo "Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first."; exit 2; }
	@$(PY) -m celery -A portal beat -l info --schedule $(CELERYBEAT_SCHEDULE)

# Not part of make test: starts its own throwaway PostgreSQL cluster, Redis and SMTP sink on
# loopback, runs gunicorn and a Celery worker under load, restarts PostgreSQL and kills the worker.
# SOAK_MODE=cluster: three nodes behind HAProxy, PostgreSQL through PgBouncer (tests/soak/cluster.py).
SOAK_MODE ?= single
soak: $(INSTALLED)
ifeq ($(SOAK_MODE),cluster)
	@for tool in haproxy pgbouncer; do test -x /usr/sbin/$$tool || { echo "make soak SOAK_MODE=cluster needs /usr/sbin/$$tool: apt-get install haproxy pgbouncer"; exit 2; }; done
	@$(PY) -m tests.soak.run --cluster
else
	@$(PY) -m tests.soak.run
endif
