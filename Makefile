# psched: `make run` to try it, `make test` to test it. See README.md.
VENV    := .venv
PY      := $(VENV)/bin/python
PORT    ?= 8000
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The test suite runs against real MariaDB and Redis on 127.0.0.1 (see README.md).
TEST_DATABASE_URL ?= mysql://root@127.0.0.1:3306/psched
TEST_BROKER_URL   ?= redis://127.0.0.1:6379/0
# Integration scenarios are independent: run them side by side, each handed to the first free
# worker (--maxschedchunk 1; tests/conftest.py orders them longest first).
PYTEST_ARGS       ?= -n 4 --maxschedchunk 1 --durations=25

.PHONY: install pds run lint test test-fast test-sqlite bench soak clean

$(VENV)/.installed: requirements.txt
	@if ! pkg-config --exists libmariadb 2>/dev/null && ! pkg-config --exists mysqlclient 2>/dev/null; then \
	  echo "== installing the MariaDB client headers that mysqlclient compiles against (apt: libmariadb-dev pkg-config)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libmariadb-dev pkg-config; \
	fi
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	@touch $@

install: $(VENV)/.installed

# The benchmark drives request load with wrk (C, light on the CPU it shares with psched).
/usr/bin/wrk:
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk

# Only the tests need a browser: Debian's chromium, driven headless by Playwright.
/usr/bin/chromium:
	@echo "== installing chromium, the browser the tests in tests/browser drive headless (apt: chromium)"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium

# The multi-host scenarios (tests/integration/test_hosts.py) put test hosts in network
# namespaces, reach MariaDB and Redis through socat, and skew host clocks with libfaketime.
/usr/bin/faketime:
	@echo "== installing faketime, which skews the clocks of test hosts (apt: faketime)"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq faketime

/usr/sbin/nft:
	@echo "== installing nftables, which makes test hosts' links drop packets (apt: nftables)"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nftables

/usr/bin/socat:
	@echo "== installing socat, which forwards test hosts to MariaDB and Redis (apt: socat)"
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq socat

# The Bluesky tests and benchmark run a real AT Protocol PDS with its PLC directory (stack/pds,
# Node packages from npm at the versions of its lock file; better-sqlite3 compiles from source,
# about a minute).
stack/pds/node_modules/.installed: stack/pds/package-lock.json stack/pds/package.json
	cd stack/pds && npm ci --no-audit --no-fund
	@touch $@

pds: stack/pds/node_modules/.installed

run: install
	@mkdir -p -m 700 var
	DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DEBUG=1 $(PY) manage.py collectstatic --noinput -v0
	DEBUG=1 $(PY) manage.py ensure_login --url http://127.0.0.1:$(PORT)
	@echo "== starting web on http://127.0.0.1:$(PORT)/, dispatcher node 'local' and beat (Ctrl-C stops all)"
	DEBUG=1 PSCHED_WEBHOOK_ALLOW_PRIVATE=1 PORT=$(PORT) PSCHED_API_URL=http://127.0.0.1:$(PORT) $(VENV)/bin/honcho -f Procfile.dev start

# The apps' imports run one way (.importlinter, docs/architecture.md).
lint: install
	$(VENV)/bin/lint-imports

# Everything: the import contract, units, integration and browser tests on MariaDB, then the
# units on SQLite. (pytest.ini selects the test settings, psched.settings.test: a fixed secret,
# fast hashing.)
test: install pds /usr/bin/chromium /usr/bin/faketime /usr/bin/socat /usr/sbin/nft
	$(VENV)/bin/lint-imports
	$(PY) manage.py collectstatic --noinput -v0
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)
	$(MAKE) test-fast FAST_ARGS="-n 2"

# The units on the embedded database, no processes or browser: under a minute. SQLite also
# takes the other claim path (a conditional UPDATE, no SKIP LOCKED).
test-fast: install
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 \
	  $(VENV)/bin/pytest -q -m "not integration and not browser" $(FAST_ARGS)
test-sqlite: test-fast

clean:
	rm -rf var/broker var/*.sqlite3*

# Lateness, throughput and scale on this machine, beside the ceilings measured in the same run
# (bench/floor), with py-spy profiles; updates docs/benchmarks.md. QUICK=1: a few minutes.
bench: install pds /usr/bin/wrk
	$(PY) -m pip install -q -r bench/requirements.txt
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m bench.run --profile $(if $(QUICK),--quick)

# The nemesis soak (soak/): psched on test hosts under random, overlapping faults for MINUTES
# (30 by default), then a checker over the history it recorded (artifacts/soak/). SEED=n makes
# the faults of an earlier run again. Needs root (network namespaces).
MINUTES ?= 30
soak: install /usr/bin/faketime /usr/bin/socat /usr/sbin/nft
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m soak.run --minutes $(MINUTES) $(if $(SEED),--seed $(SEED))
