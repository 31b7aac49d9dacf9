# PosDesk: `make run` for the demo, `make test` for the whole suite.
VENV := .venv
PY := $(VENV)/bin/python
# Tests run on PostgreSQL and Redis, as in production; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/posdesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format bench clean backup restore

$(VENV)/.installed: requirements.txt
	test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

# axe-core for the browser journeys' accessibility check (tests only; never served).
BROWSER_TOOLS := tests/browser/node_modules/.installed
$(BROWSER_TOOLS): tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The embedded default: SQLite, Celery eager, demo data, http://127.0.0.1:8000
run: install
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py seed_demo
	env -u DATABASE_URL -u CELERY_BROKER_URL $(PY) manage.py runserver 127.0.0.1:8000

test: install $(BROWSER_TOOLS)
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The load benchmark (bench/README.md): its own database and Redis db, gunicorn + Celery.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/posdesk_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
TICKETS ?= 100000
DURATION ?= 30
BENCH_ARGS ?=
bench: install
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) \
		$(PY) bench/run.py --tickets $(TICKETS) --duration $(DURATION) $(BENCH_ARGS)

# Backups (README "Backups"): the database (pg_dump custom format, or the SQLite file) and
# every upload (MEDIA_ROOT or the bucket) into a new folder of BACKUP_DIR; KEEP=n then
# removes all but the newest n. `make restore BACKUP=<that folder>` puts one back: stop
# web, worker and beat first.
KEEP ?= 0
backup: install
	$(PY) manage.py backup --keep $(KEEP)

restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/posdesk-YYYYMMDD-HHMMSS"; exit 2; }
	$(PY) manage.py restore "$(BACKUP)"

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-output .test-media tests/browser/node_modules
